/* A persistent-mode target: while (forksrv_loop(N)) it handles one input per iteration, N from
 * $LOOP_N (default 1000): a number exits with that code when it is not 0, "segv", "abort" and any
 * input holding a '!' crash (the last for afl-fuzz to find), "hang" spins. It reads stdin afresh
 * each time (the driver rewinds it), or reopens argv[1] ('@@'). */
#include <stdlib.h>

#include "forksrv.h"
#include "input.h"

static volatile int zero;

int main(int argc, char **argv) {
  const char *loops = getenv("LOOP_N");
  char buf[256];
  while (forksrv_loop(loops ? (unsigned)atoi(loops) : 1000)) {
    size_t n = read_input(argc, argv, buf, sizeof buf);
    if (!strcmp(buf, "segv") || memchr(buf, '!', n)) *(volatile int *)(long)zero = 1;
    if (!strcmp(buf, "abort")) abort();
    if (!strcmp(buf, "hang"))
      for (;;) {}
    if (atoi(buf)) exit(atoi(buf));
  }
  return 0;
}
