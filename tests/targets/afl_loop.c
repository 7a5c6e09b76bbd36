/* A program built for AFL++'s own persistent loop (__AFL_LOOP, which afl-clang-fast defines; a plain
 * build runs one input): forksrv leaves such a program its own server, which is fast already. Each
 * input is read from stdin; a '!' crashes (SIGSEGV). */
#include <unistd.h>

#ifndef __AFL_LOOP
static int once;
#define __AFL_LOOP(n) (!once++)
#endif

static volatile int zero;

int main(void) {
  char buf[256];
  while (__AFL_LOOP(1000)) {
    ssize_t n = read(0, buf, sizeof buf);
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] == '!') *(volatile int *)(long)zero = 1;
  }
  return 0;
}
