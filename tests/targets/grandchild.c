/* Leaves descendants behind: on "group" a grandchild in the target's own process group, on "daemon"
 * one that left it with setsid() and a double fork. Each writes its pid to $PIDFILE and sleeps a
 * minute; the target itself exits 0 once the pid is written. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "input.h"

static void sleeper(int pipe_w) {
  char line[32];
  int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
  const char *file = getenv("PIDFILE");
  if (file) {
    FILE *f = fopen(file, "a");
    if (f) fputs(line, f), fclose(f);
  }
  if (write(pipe_w, "x", 1) != 1) _exit(1);
  close(pipe_w);
  (void)n;
  sleep(60);
  _exit(0);
}

int main(int argc, char **argv) {
  char buf[256];
  int p[2];
  read_input(argc, argv, buf, sizeof buf);
  if (pipe(p) < 0) return 1;
  if (!strcmp(buf, "group")) {
    if (fork() == 0) sleeper(p[1]);
  } else if (!strcmp(buf, "daemon")) {
    pid_t mid = fork();
    if (mid == 0) {
      setsid();
      if (fork() == 0) sleeper(p[1]);
      _exit(0);
    }
    waitpid(mid, NULL, 0);
  } else {
    return 0;
  }
  char c;
  close(p[1]);
  return read(p[0], &c, 1) == 1 ? 0 : 1;
}
