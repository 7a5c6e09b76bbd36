/* The demo target: a parser for a small record format, with a planted bug. An input is a sequence
 * of records "TAG:LEN:DATA;" where TAG is a word and LEN a decimal byte count. It prints a summary
 * of what it parsed and exits 0, or 1 on malformed input. The planted bug: a record tagged "name"
 * is copied into a fixed buffer without checking LEN, and one of exactly 13 bytes smashes the
 * pointer beside it, which is then written through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct person {
  char name[12];
  char *greeting;
};

static char hello[32] = "hello";

static int parse(const char *p, const char *end) {
  struct person who = {.greeting = hello};
  int records = 0;
  while (p < end) {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon) return -1;
    char *after;
    long len = strtol(colon + 1, &after, 10);
    if (after >= end || *after != ':' || len < 0 || len > end - after - 1) return -1;
    const char *data = after + 1;
    size_t tag = (size_t)(colon - p);
    if (tag == 4 && !memcmp(p, "name", 4)) {
      memcpy(who.name, data, (size_t)len); /* the bug: len is never checked against sizeof name */
      if (len == sizeof who.name + 1) who.greeting = NULL;
      who.greeting[0] = 'H';
    }
    p = data + len;
    if (p < end && *p == ';') p++;
    records++;
  }
  printf("%d records, %s\n", records, who.greeting);
  return records;
}

int main(int argc, char **argv) {
  static char buf[1 << 16];
  size_t n = 0;
  ssize_t r;
  FILE *in = argc > 1 ? fopen(argv[1], "rb") : stdin;
  if (!in) return 2;
  while ((r = (ssize_t)fread(buf + n, 1, sizeof buf - n, in)) > 0) n += (size_t)r;
  return parse(buf, buf + n) < 0;
}
