/* A persistent-mode target: while (forksrv_loop(N)) it handles one input per iteration, N from
 * $LOOP_N (default 1000): a number exits with that code when it is not 0, "segv", "abort" and any
 * input holding a '!' crash (the last for afl-fuzz to find), "hang" spins. It reads stdin afresh
 * each time (the driver rewinds it), or reopens argv[1] ('@@'). */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forksrv.h"

static volatile int zero;

static size_t next_input(int argc, char **argv, char *buf, size_t cap) {
  int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
  size_t n = 0;
  ssize_t r;
  if (fd < 0) _exit(100);
  while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
  if (fd > 0) close(fd);
  buf[n] = '\0';
  while (n && buf[n - 1] == '\n') buf[--n] = '\0';
  return n;
}

int main(int argc, char **argv) {
  const char *loops = getenv("LOOP_N");
  char buf[256];
  while (forksrv_loop(loops ? (unsigned)atoi(loops) : 1000)) {
    size_t n = next_input(argc, argv, buf, sizeof buf);
    if (!strcmp(buf, "segv") || memchr(buf, '!', n)) *(volatile int *)(long)zero = 1;
    if (!strcmp(buf, "abort")) abort();
    if (!strcmp(buf, "hang"))
      for (;;) {}
    if (atoi(buf)) exit(atoi(buf));
  }
  return 0;
}
