/* Shows that executions overlap, without timing them: each input names a file that the execution
 * creates in $MEET_DIR, then it waits (at most 3 s) until $MEET_N such files exist. It exits 0 when
 * the others came while it was still running, 3 when it waited alone. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "input.h"

static int count(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

int main(int argc, char **argv) {
  const char *dir = getenv("MEET_DIR"), *want = getenv("MEET_N");
  char buf[128], path[4096];
  read_input(argc, argv, buf, sizeof buf);
  if (!dir || !want) return 2;
  snprintf(path, sizeof path, "%s/%s", dir, buf);
  close(open(path, O_WRONLY | O_CREAT, 0600));
  for (int i = 0; i < 300; i++) {
    if (count(dir) >= atoi(want)) return 0;
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  }
  return 3;
}
