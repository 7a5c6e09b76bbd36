/* Does in a constructor what $BEFORE names, what real programs do before a late fork point (--start
 * main) that must not confuse a fork server: sigign (SIGCHLD to SIG_IGN), nocldwait (SA_NOCLDWAIT),
 * thread (an idle one), reaper (a thread reaping every child it can), helper (a sleeping child, as a
 * log daemon; main exits 9 if it is gone), system (system("$BEFORE_CMD")), read (reads stdin; main
 * goes by that). main exits with its input's number, 97 if its SIGCHLD disposition was lost. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "input.h"

static const char *before;
static pid_t helper;
static char early[64];

static int is(const char *what) { return before && !strcmp(before, what); }

static void *idle(void *arg) {
  for (;;) pause();
  return arg;
}

static void *reaper(void *arg) {
  for (;;)
    if (waitpid(-1, NULL, __WALL) < 0) usleep(1000);
  return arg;
}

__attribute__((constructor)) static void set_up(void) {
  before = getenv("BEFORE");
  pthread_t t;
  if (is("sigign")) signal(SIGCHLD, SIG_IGN);
  if (is("nocldwait")) {
    struct sigaction sa = {.sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT};
    sigaction(SIGCHLD, &sa, NULL);
  }
  if (is("thread")) pthread_create(&t, NULL, idle, NULL);
  if (is("reaper")) pthread_create(&t, NULL, reaper, NULL);
  if (is("helper") && (helper = fork()) == 0) {
    sleep(60);
    _exit(0);
  }
  if (is("system") && system(getenv("BEFORE_CMD")) != 0) _exit(98);
  if (is("read")) {
    ssize_t n = read(0, early, sizeof early - 1);
    early[n > 0 ? n : 0] = '\0';
  }
}

int main(int argc, char **argv) {
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  if (is("read")) return atoi(early);
  struct sigaction sa;
  sigaction(SIGCHLD, NULL, &sa);
  if (is("sigign") && sa.sa_handler != SIG_IGN) return 97;
  if (is("nocldwait") && !(sa.sa_flags & SA_NOCLDWAIT)) return 97;
  if (is("helper") && kill(helper, 0) != 0) return 9;
  return atoi(buf);
}
