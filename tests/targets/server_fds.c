/* Exits with the lowest fd below 1000 that holds something of a fork server's (an eventfd, a signalfd,
 * a pidfd, or one of forksrv's FIFOs), or 0 when there is none, as in a plain run: the target's own fds
 * must be numbered as without forksrv. Through forksrv_loop, so that what a persistent child keeps is
 * there too; each input still ends its child. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forksrv.h"
#include "input.h"

static int lowest_server_fd(void) {
  static const char *const kinds[] = {"anon_inode:[eventfd]", "anon_inode:[signalfd]", "anon_inode:[pidfd]", "/forksrv."};
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) return 100;
  int lowest = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    int fd = atoi(e->d_name);
    char path[64], link[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (fd >= 1000 || n <= 0) continue;
    link[n] = '\0';
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
      if (strstr(link, kinds[k]) && (!lowest || fd < lowest)) lowest = fd;
  }
  closedir(dir);
  return lowest;
}

int main(int argc, char **argv) {
  while (forksrv_loop(1000)) {
    char buf[64];
    read_input(argc, argv, buf, sizeof buf);
    _exit(lowest_server_fd());
  }
  return 0;
}
