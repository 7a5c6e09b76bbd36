/* A fuzzer's view of the client API: start a target, run N inputs in a tight loop, print a line for
 * each of the first eight results and whether a server ran, stop. Used by the tests to show the
 * library works without the CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forksrv_client.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: client_loop N LIBFORKSRV TARGET [ARGS...]\n");
    return 2;
  }
  struct drv_config cfg = {.argv = argv + 3, .preload = argv[2], .timeout_ms = 1000, .cancel_fd = -1};
  char err[1024];
  struct drv *d = drv_start(&cfg, err, sizeof err);
  if (!d) {
    fprintf(stderr, "client_loop: %s\n", err);
    return 2;
  }
  long n = atol(argv[1]);
  for (long i = 0; i < n; i++) {
    char input[16];
    int len = snprintf(input, sizeof input, "%ld", i % 4);
    struct drv_result r;
    if (drv_run(d, input, (size_t)len, &r) < 0) {
      fprintf(stderr, "client_loop: %s\n", drv_error(d));
      drv_stop(d);
      return 2;
    }
    if (i < 8) printf("%s %d %d\n", input, r.outcome, r.exit_code);
  }
  printf("server %s\n", drv_server_pid(d) > 0 ? "yes" : "no");
  return drv_stop(d) < 0 ? 2 : 0;
}
