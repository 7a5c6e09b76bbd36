/* Writes argv[1] MiB (default 64) to stderr in 64 KiB chunks, each a numbered line and filler, then
 * its input (always stdin: argv[1] is the size) to stdout, and crashes if that is "abort". On the way
 * it watches how much memory its stderr holds (a capture's allocated blocks, holes not counted) and
 * exits 3 if that ever passed 64 MiB: the capture's bound must hold while the target runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"

int main(int argc, char **argv) {
  static char chunk[65536];
  long mib = argc > 1 ? atol(argv[1]) : 64;
  long long most = 0;
  memset(chunk, '.', sizeof chunk);
  chunk[sizeof chunk - 1] = '\n';
  for (long k = 0; k < mib * 16; k++) {
    int n = snprintf(chunk, 32, "chunk %ld", k);
    chunk[n] = ' ';
    if (write(2, chunk, sizeof chunk) < 0) return 4;
    struct stat st;
    if (fstat(2, &st) == 0 && (long long)st.st_blocks * 512 > most) most = (long long)st.st_blocks * 512;
  }
  char buf[64];
  read_input(1, argv, buf, sizeof buf);
  puts(buf);
  if (!strcmp(buf, "abort")) abort();
  return most > (64ll << 20) ? 3 : 0;
}
