/* The client API in a tight loop, as a fuzzer would use it (no CLI, no reporting): starts the target
 * under the fork server, runs N executions of a 5-byte input and prints the mean "us/exec", start-up
 * not counted; with $BENCH_RESET=snapshot, under snapshot reset.
 * Usage: api_client N LIBFORKSRV TARGET [ARGS...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forksrv_client.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: api_client N LIBFORKSRV TARGET [ARGS...]\n");
    return 2;
  }
  struct drv_config cfg = {.argv = argv + 3, .preload = argv[2], .timeout_ms = 1000, .cancel_fd = -1};
  const char *reset = getenv("BENCH_RESET");
  cfg.reset_snapshot = reset && !strcmp(reset, "snapshot");
  char err[1024];
  struct drv *d = drv_start(&cfg, err, sizeof err);
  if (!d) {
    fprintf(stderr, "api_client: %s\n", err);
    return 2;
  }
  long n = atol(argv[1]);
  double t0 = now_us();
  for (long i = 0; i < n; i++) {
    struct drv_result r;
    if (drv_run(d, "hello", 5, &r) < 0 || r.outcome != DRV_EXITED) {
      fprintf(stderr, "api_client: run %ld: %s\n", i, drv_error(d));
      drv_stop(d);
      return 2;
    }
  }
  printf("%.1f us/exec\n", (now_us() - t0) / n);
  return drv_stop(d) < 0 ? 2 : 0;
}
