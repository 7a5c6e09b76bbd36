/* A parser for a small record format, with a planted bug. An input is a sequence of records
 * "TAG:LEN:DATA;" where TAG is a word and LEN a decimal byte count. The bug: a record tagged "name" is
 * copied into a 12-byte buffer without checking LEN, and one of exactly 13 bytes stands for a smash of
 * the pointer beside it (the 13th byte lands in padding, so the code sets it to NULL), which is then
 * written through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"

struct person {
  char name[12];
  char *greeting;
};

static char hello[32] = "hello";

int records_parse(const char *p, size_t size) {
  const char *end = p + size;
  struct person who = {.greeting = hello};
  int records = 0;
  while (p < end) {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon) return -1;
    /* The length, read from a bounded copy: the input need not end in a NUL. */
    char digits[32], *stop;
    size_t n = (size_t)(end - colon - 1) < sizeof digits - 1 ? (size_t)(end - colon - 1) : sizeof digits - 1;
    memcpy(digits, colon + 1, n);
    digits[n] = '\0';
    long len = strtol(digits, &stop, 10);
    const char *after = colon + 1 + (stop - digits);
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
