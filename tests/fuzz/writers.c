/* Fuzzes the report writers of driver/text.c with arbitrary bytes: what the JSON writer makes must be
 * the inside of a valid JSON string and what the XML writer makes valid XML text, both checked here
 * by a reader written apart from them (UTF-8 by the byte ranges of Unicode's table 3-7); and input
 * that needed nothing replaced must read back as itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The code point of the well-formed sequence at p (table 3-7), its length in *len; -1 if none. */
static long decode(const unsigned char *p, size_t n, size_t *len) {
  unsigned b0 = p[0];
  if (b0 <= 0x7f) return *len = 1, (long)b0;
  unsigned lo = 0x80, hi = 0xbf;
  size_t k;
  if (b0 >= 0xc2 && b0 <= 0xdf) k = 2;
  else if (b0 == 0xe0) k = 3, lo = 0xa0;
  else if (b0 >= 0xe1 && b0 <= 0xec) k = 3;
  else if (b0 == 0xed) k = 3, hi = 0x9f;
  else if (b0 >= 0xee && b0 <= 0xef) k = 3;
  else if (b0 == 0xf0) k = 4, lo = 0x90;
  else if (b0 >= 0xf1 && b0 <= 0xf3) k = 4;
  else if (b0 == 0xf4) k = 4, hi = 0x8f;
  else return -1;
  if (n < k || p[1] < lo || p[1] > hi) return -1;
  for (size_t i = 2; i < k; i++)
    if (p[i] < 0x80 || p[i] > 0xbf) return -1;
  long cp = k == 2 ? b0 & 0x1f : k == 3 ? b0 & 0x0f : b0 & 0x07;
  for (size_t i = 1; i < k; i++) cp = cp << 6 | (p[i] & 0x3f);
  *len = k;
  return cp;
}

static int xml_allowed(long c) {
  return c == 9 || c == 10 || c == 13 || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
}

static int hexval(int c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Reads the JSON string content back into out (the escapes undone); 0 when it is not valid. */
static int read_json(const unsigned char *s, size_t n, unsigned char *out, size_t *outlen) {
  size_t o = 0;
  for (size_t i = 0, len; i < n; i += len) {
    long c = decode(s + i, n - i, &len);
    if (c < 0 || c < 0x20 || c == '"') return 0;
    if (c != '\\') {
      memcpy(out + o, s + i, len), o += len;
      continue;
    }
    if (i + 1 >= n) return 0;
    const char *simple = strchr("\"\\/bfnrt", s[i + 1]);
    if (simple && s[i + 1]) {
      out[o++] = (unsigned char)"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
      len = 2;
      continue;
    }
    if (s[i + 1] != 'u' || i + 6 > n) return 0;
    int v = 0;
    for (int k = 2; k < 6; k++) {
      int h = hexval(s[i + k]);
      if (h < 0) return 0;
      v = v * 16 + h;
    }
    if (v >= 0x80) return 0; /* the writer escapes only ASCII controls */
    out[o++] = (unsigned char)v;
    len = 6;
  }
  *outlen = o;
  return 1;
}

/* Reads the XML text back into out (references undone); 0 when it is not valid XML 1.0 text. */
static int read_xml(const unsigned char *s, size_t n, unsigned char *out, size_t *outlen, int attr) {
  static const char *const refs[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#13;", "&#10;", "&#9;"};
  static const char chars[] = "&<>\"\r\n\t";
  const size_t nrefs = sizeof refs / sizeof *refs;
  size_t o = 0;
  for (size_t i = 0, len; i < n; i += len) {
    long c = decode(s + i, n - i, &len);
    if (c < 0 || !xml_allowed(c) || c == '<' || c == '\r') return 0;
    /* A parser reads a raw newline or tab in an attribute back as a space; a quote would end it. */
    if (attr && (c == '\n' || c == '\t' || c == '"')) return 0;
    if (c != '&') {
      memcpy(out + o, s + i, len), o += len;
      continue;
    }
    size_t r = 0;
    while (r < nrefs && (n - i < strlen(refs[r]) || memcmp(s + i, refs[r], strlen(refs[r])))) r++;
    if (r == nrefs) return 0;
    out[o++] = (unsigned char)chars[r];
    len = strlen(refs[r]);
  }
  *outlen = o;
  return 1;
}

static int needs_nothing(const uint8_t *d, size_t n, int xml) {
  for (size_t i = 0, len; i < n; i += len) {
    long c = decode(d + i, n - i, &len);
    if (c < 0 || (xml && !xml_allowed(c))) return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* 0: a JSON string, 1: XML text, 2: an XML attribute's value. */
  for (int mode = 0; mode < 3; mode++) {
    int xml = mode > 0;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return 0;
    size_t replaced =
        xml ? cli_xml_text(f, (const char *)data, size, mode == 2) : cli_json_text(f, (const char *)data, size);
    fclose(f);
    unsigned char *back = malloc(len + 1);
    size_t back_len = 0;
    int ok = xml ? read_xml((unsigned char *)text, len, back, &back_len, mode == 2)
                 : read_json((unsigned char *)text, len, back, &back_len);
    if (!ok) __builtin_trap();
    int clean = needs_nothing(data, size, xml);
    if (clean != (replaced == 0)) __builtin_trap();
    if (clean && (back_len != size || memcmp(back, data, size))) __builtin_trap();
    if (!xml && cli_utf8_valid((const char *)data, size) != needs_nothing(data, size, 0)) __builtin_trap();
    free(back);
    free(text);
  }
  return 0;
}
