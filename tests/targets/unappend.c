/* Writes as many MiB to stderr as its input says, then clears O_APPEND on it as a common idiom does
 * (fcntl(2, F_SETFL, O_NONBLOCK)), seeks it to 1 GiB when it wrote anything, says "said N" there and
 * aborts. Its stderr is forksrv's capture, whose open file description it shares with the driver. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"

int main(int argc, char **argv) {
  static char mib[1 << 20];
  char buf[32];
  read_input(argc, argv, buf, sizeof buf);
  int n = atoi(buf);
  memset(mib, 'x', sizeof mib);
  for (int i = 0; i < n; i++)
    if (write(2, mib, sizeof mib) < 0) return 4;
  fcntl(2, F_SETFL, O_NONBLOCK);
  if (n) lseek(2, 1L << 30, SEEK_SET);
  dprintf(2, "said %d\n", n);
  abort();
}
