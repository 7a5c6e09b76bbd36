/* Exits with the number its first open() gets, which is 3 when the target inherits nothing but its
 * stdin, stdout and stderr, as under the shell; with anything else open above them, 100 plus how
 * many (a leak above a free fd 3 would not move the first open). An input that starts with "abort"
 * then aborts, so that a run also takes forksrv's crash paths (--crashes, --junit's failure). */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

static int inherited(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (!d) return 99;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.' && atoi(e->d_name) > 2 && atoi(e->d_name) != dirfd(d)) n++;
  closedir(d);
  return n;
}

int main(int argc, char **argv) {
  int extra = inherited();
  int fd = open("/dev/null", O_RDONLY);
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  if (!strncmp(buf, "abort", 5)) abort();
  return extra ? 100 + extra : fd;
}
