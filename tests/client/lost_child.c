/* Something outside (the OOM killer, a user) kills a persistent child while it waits between two
 * inputs, when the request it was about to read may be in flight. Runs the inputs on the command
 * line through the client API, SIGKILLs the child that ran the first one, and prints one line per
 * result: every later input must still get exactly one true outcome. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "forksrv_client.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: lost_child LIBFORKSRV TARGET INPUT...\n");
    return 2;
  }
  char *target[] = {argv[2], NULL};
  struct drv_config cfg = {.argv = target, .preload = argv[1], .timeout_ms = 1000, .cancel_fd = -1};
  char err[1024];
  struct drv *d = drv_start(&cfg, err, sizeof err);
  if (!d) {
    fprintf(stderr, "lost_child: %s\n", err);
    return 2;
  }
  for (int i = 3; i < argc; i++) {
    struct drv_result r;
    if (drv_run(d, argv[i], strlen(argv[i]), &r) < 0) {
      fprintf(stderr, "lost_child: %s\n", drv_error(d));
      drv_stop(d);
      return 2;
    }
    printf("%s %d %d\n", argv[i], r.outcome, r.exit_code);
    if (i == 3) {
      /* The child is parked in its read of the next request, unreaped: its pid is still its own. */
      kill(r.pid, SIGKILL);
      nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
  }
  return drv_stop(d) < 0 ? 2 : 0;
}
