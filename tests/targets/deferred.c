/* A target that starts the fork server itself, after its set-up (which appends a line to $COUNTER
 * when set, and spends $INIT_MS milliseconds, default 0, in a busy loop), with forksrv.h's
 * forksrv_start(), and says on stderr what that returned. It exits with the number its input holds. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "forksrv.h"
#include "input.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  const char *counter = getenv("COUNTER"), *ms = getenv("INIT_MS");
  if (counter) {
    FILE *f = fopen(counter, "a");
    if (f) fputs("set-up\n", f), fclose(f);
  }
  double until = now_ms() + (ms ? atof(ms) : 0.0);
  while (now_ms() < until) {}
  fprintf(stderr, "forksrv_start: %d\n", forksrv_start());
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  return atoi(buf);
}
