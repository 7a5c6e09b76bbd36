/* The demo target: reads one input from stdin (or the file named by argv[1]), parses its records,
 * and exits 0, or 1 on malformed input. */
#include <stdio.h>

#include "records.h"

int main(int argc, char **argv) {
  static char buf[1 << 16];
  size_t n = 0, r;
  FILE *in = argc > 1 ? fopen(argv[1], "rb") : stdin;
  if (!in) return 2;
  while ((r = fread(buf + n, 1, sizeof buf - n, in)) > 0) n += r;
  return records_parse(buf, n) < 0;
}
