/* A persistent-mode target: while (forksrv_loop(N)) it handles one input per iteration, N from
 * $LOOP_N (default 1000): a number exits with that code when it is not 0, "segv", "abort" and any
 * input holding a '!' crash (the last for afl-fuzz to find), "hang" spins. It reads stdin afresh
 * each time (the driver rewinds it), or reopens argv[1] ('@@'). With $LOG set, it appends each input
 * it handles to that file, a line each, so tests can see which inputs ran, and how often. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "forksrv.h"
#include "input.h"

static volatile int zero;

int main(int argc, char **argv) {
  const char *loops = getenv("LOOP_N"), *log = getenv("LOG");
  char buf[256];
  while (forksrv_loop(loops ? (unsigned)atoi(loops) : 1000)) {
    size_t n = read_input(argc, argv, buf, sizeof buf);
    if (log) {
      int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      dprintf(fd, "%s\n", buf);
      close(fd);
    }
    if (!strcmp(buf, "segv") || memchr(buf, '!', n)) *(volatile int *)(long)zero = 1;
    if (!strcmp(buf, "abort")) abort();
    if (!strcmp(buf, "hang"))
      for (;;) {}
    if (atoi(buf)) exit(atoi(buf));
  }
  return 0;
}
