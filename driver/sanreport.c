/* --verify's comparison of one stream of a run under the server with the plain run's: byte for byte,
 * but for a sanitizer's report, which carries pids and addresses that differ between any two runs.
 * Where a report begins (at the same byte in both, everything before it the same), the two agree
 * when the reports found the same thing: the same kind (its SUMMARY line, else its first line) and
 * the same top frames of its first stack, pids and addresses set aside. */
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

/* A line with its pids ("==123==") and hexadecimal numbers (addresses, offsets) set aside. */
static size_t aside(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 8 < LINE_CAP;) {
    if (i == 0 && n > 4 && s[0] == '=' && s[1] == '=' && digit(s[2])) {
      size_t k = 2;
      while (k < n && digit(s[k])) k++;
      memcpy(out + o, "==PID", 5), o += 5, i = k;
    } else if (s[i] == '0' && i + 2 < n && (s[i + 1] == 'x' || s[i + 1] == 'X') && hex(s[i + 2])) {
      memcpy(out + o, "0x?", 3), o += 3, i += 2;
      while (i < n && hex(s[i])) i++;
    } else {
      out[o++] = s[i++];
    }
  }
  return o;
}

/* What a report found: its kind (its SUMMARY line, else its first line) and its first stack's top
 * frames, each set aside as above. */
struct found {
  char kind[LINE_CAP], frame[TOP_FRAMES][LINE_CAP];
  size_t nkind, nframe[TOP_FRAMES];
  unsigned frames;
};

static void findings(const char *s, size_t len, struct found *f) {
  const char *line;
  size_t at = 0, n;
  int summary = 0;
  f->nkind = 0, f->frames = 0;
  for (int first = 1; next_line(s, len, &at, &line, &n); first = 0) {
    size_t k = 0;
    while (k < n && line[k] == ' ') k++;
    if (k + 1 < n && line[k] == '#' && digit(line[k + 1]) && f->frames < TOP_FRAMES) {
      f->nframe[f->frames] = aside(line, n, f->frame[f->frames]);
      f->frames++;
    } else if ((first || (n > 9 && !memcmp(line, "SUMMARY: ", 9))) && !summary) {
      f->nkind = aside(line, n, f->kind);
      summary = !first;
    }
  }
}

size_t cli_output_differs(const char *a, size_t alen, const char *b, size_t blen) {
  size_t at = 0;
  while (at < alen && at < blen && a[at] == b[at]) at++;
  if (at == alen && at == blen) return (size_t)-1;
  size_t ra = report_at(a, alen), rb = report_at(b, blen);
  if (ra != rb || ra > at || ra == alen || rb == blen) return at;
  struct found fa, fb;
  findings(a + ra, alen - ra, &fa);
  findings(b + rb, blen - rb, &fb);
  if (fa.nkind != fb.nkind || memcmp(fa.kind, fb.kind, fa.nkind) || fa.frames != fb.frames) return at;
  for (unsigned i = 0; i < fa.frames; i++)
    if (fa.nframe[i] != fb.nframe[i] || memcmp(fa.frame[i], fb.frame[i], fa.nframe[i])) return at;
  return (size_t)-1;
}
