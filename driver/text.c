/* Text from outside (a target's stderr, input file names) into the reports' two formats. Both must
 * stay valid documents whatever the bytes are, so both writers accept only UTF-8 as the standard
 * defines it (no overlongs, no surrogates, nothing past U+10FFFF) and XML only the characters XML 1.0
 * allows; anything else is written as U+FFFD and counted, so the caller can say that it happened. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

size_t cli_utf8_len(const unsigned char *p, size_t n, unsigned *cp) {
  if (!n) return 0;
  unsigned c = p[0];
  size_t len;
  unsigned min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2, min = 0x80, c &= 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, min = 0x800, c &= 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, min = 0x10000, c &= 0x07;
  } else {
    return 0;
  }
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    c = c << 6 | (p[i] & 0x3f);
  }
  if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
  *cp = c;
  return len;
}

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

size_t cli_json_text(FILE *f, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t replaced = 0;
  while (n) {
    unsigned cp;
    size_t len = cli_utf8_len(p, n, &cp);
    if (!len) {
      fputs(replacement, f);
      replaced++;
      len = 1;
    } else if (cp == '"' || cp == '\\') {
      fputc('\\', f);
      fputc((int)cp, f);
    } else if (cp < 0x20 || cp == 0x7f) {
      fprintf(f, "\\u%04x", cp);
    } else {
      fwrite(p, 1, len, f);
    }
    p += len;
    n -= len;
  }
  return replaced;
}

/* XML 1.0's Char production: a character outside it is not allowed even as a reference. */
static int xml_char(unsigned cp) {
  return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
         (cp >= 0x10000 && cp <= 0x10ffff);
}

size_t cli_xml_text(FILE *f, const char *s, size_t n, int attr) {
  const unsigned char *p = (const unsigned char *)s;
  size_t replaced = 0;
  while (n) {
    unsigned cp;
    size_t len = cli_utf8_len(p, n, &cp);
    if (!len || !xml_char(cp)) {
      fputs(replacement, f);
      replaced++;
      len = len ? len : 1;
    } else if (cp == '&') {
      fputs("&amp;", f);
    } else if (cp == '<') {
      fputs("&lt;", f);
    } else if (cp == '>') {
      fputs("&gt;", f);
    } else if (cp == '"') {
      fputs("&quot;", f);
    } else if (cp == '\r') {
      /* A raw CR would be read back as a newline. */
      fputs("&#13;", f);
    } else if (attr && (cp == '\n' || cp == '\t')) {
      /* In an attribute, a parser reads them back as spaces. */
      fputs(cp == '\n' ? "&#10;" : "&#9;", f);
    } else {
      fwrite(p, 1, len, f);
    }
    p += len;
    n -= len;
  }
  return replaced;
}

int cli_utf8_valid(const char *s, size_t n) {
  unsigned cp;
  for (size_t len; n; s += len, n -= len)
    if (!(len = cli_utf8_len((const unsigned char *)s, n, &cp))) return 0;
  return 1;
}
