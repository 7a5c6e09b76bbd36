/* The price of system calls where the put-back makes them: a persistent loop whose every input makes
 * $BENCH_CALLS calls after reading stdin, taken in turn from sixteen that only read the process's
 * state (as the put-back's checks do, each on a path of its own in the kernel), on one core with the
 * driver. Beside the plain loop it shows what snapshot reset's calls cost on this machine apart from
 * its work: the put-back of a trivial target is mostly such calls (bench section 9 counts them). */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "forksrv.h"

static void one(long i) {
  unsigned r[3];
  long v[4];
  switch (i % 16) {
  case 0: syscall(SYS_getppid); break;
  case 1: syscall(SYS_getresuid, &r[0], &r[1], &r[2]); break;
  case 2: syscall(SYS_getresgid, &r[0], &r[1], &r[2]); break;
  case 3: syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0); break;
  case 4: syscall(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); break;
  case 5: syscall(SYS_rt_sigpending, v, 8); break;
  case 6: syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, v, 8); break;
  case 7: syscall(SYS_sigaltstack, 0, v); break;
  case 8: syscall(SYS_getitimer, ITIMER_REAL, v); break;
  case 9: syscall(SYS_getpriority, 0, 0); break;
  case 10: syscall(SYS_sched_getscheduler, 0); break;
  case 11: syscall(SYS_ioprio_get, 1, 0); break;
  case 12: syscall(SYS_fcntl, 0, F_GETFL); break;
  case 13: syscall(SYS_fcntl, 1, F_GETFD); break;
  case 14: syscall(SYS_getpgid, 0); break;
  case 15: syscall(SYS_getsid, 0); break;
  }
}

int main(void) {
  const char *env = getenv("BENCH_CALLS");
  long calls = env ? atol(env) : 0;
  char buf[4096];
  while (forksrv_loop(1000)) {
    while (read(0, buf, sizeof buf) > 0) {}
    for (long i = 0; i < calls; i++) one(i);
  }
  return 0;
}
