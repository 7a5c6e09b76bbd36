/* --verify's comparison of one stream of a run under the server with the plain run's: byte for byte,
 * but for a sanitizer's report, which carries pids and addresses that differ between any two runs.
 * Where a report begins (at the same byte in both, everything before it the same), the rest must
 * agree line by line with pids ("==123==") and addresses (hexadecimal numbers, but for a module's
 * "+0x1f" offsets) set aside, and only each stack's top frames compared: below them, a forked child's
 * stack may hold the server's frames where a direct run's holds libc's. */
#define _GNU_SOURCE
#include <string.h>

#include "cli.h"

#define TOP_FRAMES 3
#define LINE_CAP 1024

static int digit(char c) { return c >= '0' && c <= '9'; }
static int hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Whether a line begins a report: "==PID==" (ASan, LSan, MSan, TSan) or UBSan's "runtime error:". */
static int report_line(const char *s, size_t n) {
  size_t k = 2;
  if (n > 4 && s[0] == '=' && s[1] == '=') {
    while (k < n && digit(s[k])) k++;
    if (k > 2 && k + 1 < n && s[k] == '=' && s[k + 1] == '=') return 1;
  }
  return memmem(s, n, ": runtime error: ", 17) != NULL;
}

/* The line at *at (its length in *n), and *at moved past it; 0 at the end. */
static int next_line(const char *s, size_t len, size_t *at, const char **line, size_t *n) {
  if (*at >= len) return 0;
  const char *nl = memchr(s + *at, '\n', len - *at);
  size_t end = nl ? (size_t)(nl - s) : len;
  *line = s + *at;
  *n = end - *at;
  *at = end + 1;
  return 1;
}

/* Where the first report begins, or len. */
static size_t report_at(const char *s, size_t len) {
  const char *line;
  size_t at = 0, n, begin = 0;
  for (; next_line(s, len, &at, &line, &n); begin = at)
    if (report_line(line, n)) return begin;
  return len;
}

/* A line with its pids ("==123==" first, a deadly signal's tid after the registers) and addresses
 * (hexadecimal numbers not after a '+') set aside. */
static size_t aside(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 8 < LINE_CAP;) {
    if (i == 0 && n > 4 && s[0] == '=' && s[1] == '=' && digit(s[2])) {
      size_t k = 2;
      while (k < n && digit(s[k])) k++;
      memcpy(out + o, "==PID", 5), o += 5, i = k;
    } else if (s[i] == '0' && i + 2 < n && (s[i + 1] == 'x' || s[i + 1] == 'X') && hex(s[i + 2]) &&
               (i == 0 || s[i - 1] != '+')) {
      memcpy(out + o, "0x?", 3), o += 3, i += 2;
      while (i < n && hex(s[i])) i++;
    } else if (s[i] == 'T' && i + 1 < n && digit(s[i + 1]) && o >= 4 && !memcmp(out + o - 4, "0x? ", 4)) {
      /* "(pc 0x.. bp 0x.. sp 0x.. T4615)": a deadly signal's thread, by its tid */
      memcpy(out + o, "T?", 2), o += 2, i++;
      while (i < n && digit(s[i])) i++;
    } else {
      out[o++] = s[i++];
    }
  }
  return o;
}

/* A frame line's number ("    #2 0x... in f file.c:3"), or -1 for any other line. */
static long frame_number(const char *line, size_t n) {
  size_t k = 0;
  long frame = 0;
  while (k < n && line[k] == ' ') k++;
  if (k + 1 >= n || line[k] != '#' || !digit(line[k + 1])) return -1;
  for (k++; k < n && digit(line[k]) && frame < 1000; k++) frame = frame * 10 + (line[k] - '0');
  return frame;
}

/* The next line of a report to compare, set aside: a stack's frames below the top ones are skipped.
 * 0 at the end. */
static int next_kept(const char *s, size_t len, size_t *at, char *out, size_t *m) {
  const char *line;
  size_t n;
  while (next_line(s, len, at, &line, &n)) {
    if (frame_number(line, n) >= TOP_FRAMES) continue;
    *m = aside(line, n, out);
    return 1;
  }
  return 0;
}

size_t cli_output_differs(const char *a, size_t alen, const char *b, size_t blen) {
  size_t at = 0;
  while (at < alen && at < blen && a[at] == b[at]) at++;
  if (at == alen && at == blen) return (size_t)-1;
  size_t ra = report_at(a, alen), rb = report_at(b, blen);
  if (ra != rb || ra > at || ra == alen || rb == blen) return at;
  char la[LINE_CAP], lb[LINE_CAP];
  size_t ia = ra, ib = rb, na, nb;
  for (;;) {
    int more_a = next_kept(a, alen, &ia, la, &na), more_b = next_kept(b, blen, &ib, lb, &nb);
    if (more_a != more_b || (more_a && (na != nb || memcmp(la, lb, na)))) return at;
    if (!more_a) return (size_t)-1;
  }
}

/* Appends a line, set aside and trimmed of its indent, to out (of cap bytes, NUL-terminated), cut to
 * fit. Decimal numbers are set aside too, but for a place's "file.c:12:5" and a frame's "#2": a leak's
 * size or an out-of-bounds index is the input's, not the bug's. */
static void key_add(char *out, size_t cap, size_t *o, const char *sep, const char *line, size_t n) {
  char buf[LINE_CAP];
  while (n && *line == ' ') line++, n--;
  size_t m = aside(line, n, buf), s = strlen(sep);
  if (*o + s + 1 >= cap) return;
  memcpy(out + *o, sep, s), *o += s;
  for (size_t i = 0; i < m && *o + 2 < cap;) {
    char before = i ? buf[i - 1] : ' ';
    if (digit(buf[i]) && before != ':' && before != '#' && before != '_' && !(before >= 'a' && before <= 'z') &&
        !(before >= 'A' && before <= 'Z') && !digit(before)) {
      out[(*o)++] = 'N';
      while (i < m && digit(buf[i])) i++;
    } else {
      out[(*o)++] = buf[i++];
    }
  }
  out[*o] = 0;
}

size_t cli_crash_key(const char *s, size_t len, char *out, size_t cap, int frames) {
  size_t start = report_at(s, len), at, o = 0, n;
  const char *line, *first = NULL, *summary = NULL;
  size_t first_n = 0, summary_n = 0;
  out[0] = 0;
  if (cap < 2) return 0;
  /* The first report's summary: searched from the start, as a cut tail may have lost the report's
   * first lines but kept its summary. */
  for (at = 0; !summary && next_line(s, len, &at, &line, &n);) {
    if (at > start && !first && n) first = line, first_n = n;
    if (n > 9 && !memcmp(line, "SUMMARY: ", 9)) summary = line, summary_n = n;
  }
  if (!summary && start == len) {
    /* No report: with frames (grouping crashes), the last line said, an assert's message as a rule. */
    const char *said = NULL;
    size_t said_n = 0;
    for (at = 0; frames && next_line(s, len, &at, &line, &n);)
      if (n) said = line, said_n = n;
    if (said) key_add(out, cap, &o, "", said, said_n);
    return o;
  }
  if (summary) key_add(out, cap, &o, "", summary, summary_n);
  else if (first) key_add(out, cap, &o, "", first, first_n);
  /* The first stack's top frames: the same summary line can end different paths through the code. */
  long last = -1;
  for (at = start; frames && next_line(s, len, &at, &line, &n);) {
    long f = frame_number(line, n);
    if (f < 0 && last >= 0) break;
    if (f < 0) continue;
    if (f < TOP_FRAMES) key_add(out, cap, &o, " | ", line, n);
    last = f;
  }
  return o;
}
