/* A target for AFL++ under snapshot reset: everything an execution leaves behind would be seen by the
 * next one in the same process (a global count, a heap block kept in a global, a fd left open), and
 * any of it seen aborts (SIGABRT), so a fuzzer that saves such a crash has seen state leak. Planted as
 * in afl_plain: a '!' crashes (SIGSEGV), a '~' hangs; otherwise it exits with the first byte's value
 * mod 4. A '&' first leaves a helper in the background, as `cmd &` does, which ends at once and which
 * the fork server reaps (its SIGCHLD is not this execution's end). Each execution appends its pid to $AFL_STATE_PIDS, if set, to tell which shared a process. */
#include <fcntl.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "input.h"

#define LEFT_OPEN 100

static volatile int zero;
static int runs;
static char *kept;

int main(int argc, char **argv) {
  if (runs++ || kept || fcntl(LEFT_OPEN, F_GETFD) >= 0) abort();
  kept = malloc(64);
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0) dup2(null, LEFT_OPEN);
  const char *pids = getenv("AFL_STATE_PIDS");
  int log = pids ? open(pids, O_WRONLY | O_APPEND | O_CREAT, 0600) : -1;
  if (log >= 0) {
    dprintf(log, "%d\n", (int)getpid());
    close(log);
  }
  char buf[4096];
  size_t n = read_input(argc, argv, buf, sizeof buf);
  if (memchr(buf, '&', n)) {
    pid_t helper = fork();
    if (helper == 0) {
      if (fork() == 0) _exit(0); /* orphaned at once: the server, a subreaper, reaps it */
      _exit(0);
    }
    if (helper > 0) waitpid(helper, 0, 0);
    usleep(20000); /* the orphan is gone before the hang below begins */
  }
  if (memchr(buf, '!', n)) *(volatile int *)(long)zero = 1;
  if (memchr(buf, '~', n))
    for (;;) pause();
  return n ? (unsigned char)buf[0] % 4 : 0;
}
