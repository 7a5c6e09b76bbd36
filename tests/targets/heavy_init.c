/* A target whose constructor is expensive and leaves a trace: it appends a line to $COUNTER (when
 * set) and spends $INIT_MS milliseconds (default 5) in a busy loop, as initialising a few libraries
 * would. Then it exits with the number its input holds. Counting the lines tells how often the
 * constructor ran: once per execution, or once for all. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "input.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((constructor)) static void expensive(void) {
  const char *counter = getenv("COUNTER"), *ms = getenv("INIT_MS");
  if (counter) {
    FILE *f = fopen(counter, "a");
    if (f) fputs("init\n", f), fclose(f);
  }
  double until = now_ms() + (ms ? atof(ms) : 5.0);
  while (now_ms() < until) {}
}

int main(int argc, char **argv) {
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  return atoi(buf);
}
