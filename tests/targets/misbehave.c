/* Misbehaves the way its input names, for the fault matrix: bomb forks 200 children that sleep a
 * minute and exits 0 (a fork bomb it bounds itself); vfork exits with a vfork()ed child's code, 3;
 * closestd closes fds 0-2 and exits 5; dupstd puts /dev/null over them and exits 6; bigout writes
 * 8 MiB to stdout and to stderr and exits 0; deaf ignores and blocks every signal it can and exits 9,
 * deafhang then spins; maskcrash blocks all signals and dereferences NULL. Others exit 0. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "input.h"

static volatile int zero;

static void deafen(void) {
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_IGN);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
}

int main(int argc, char **argv) {
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  if (!strcmp(buf, "bomb")) {
    for (int i = 0; i < 200; i++)
      if (fork() == 0) {
        sleep(60);
        _exit(0);
      }
    return 0;
  }
  if (!strcmp(buf, "vfork")) {
    int status;
    pid_t pid = vfork();
    if (pid == 0) _exit(3);
    waitpid(pid, &status, 0);
    return WEXITSTATUS(status);
  }
  if (!strcmp(buf, "closestd")) {
    close(0), close(1), close(2);
    return 5;
  }
  if (!strcmp(buf, "dupstd")) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    return 6;
  }
  if (!strcmp(buf, "bigout")) {
    static char block[1 << 16];
    memset(block, 'x', sizeof block);
    for (int i = 0; i < 128; i++)
      if (write(1, block, sizeof block) < 0 || write(2, block, sizeof block) < 0) return 1;
    return 0;
  }
  if (!strcmp(buf, "deaf")) {
    deafen();
    return 9;
  }
  if (!strcmp(buf, "deafhang")) {
    deafen();
    for (;;) {}
  }
  if (!strcmp(buf, "maskcrash")) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    *(volatile int *)(long)zero = 1;
  }
  return 0;
}
