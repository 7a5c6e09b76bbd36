/* For --reset snapshot's table of process state (docs/design.md): each execution first prints the
 * state it found, a line per piece, then changes the piece its input names (one of the names in
 * change() below) and exits 0. A fresh process prints the fresh state; so must every execution,
 * however it is had again. $SEMID names a System V semaphore set, $SHARED a file to map shared (for a
 * robust mutex), both made by the test; $PIECES limits the lines printed to those named. "sleep"
 * changes nothing and takes half a second, "burn" 0.6 s of CPU time, "burn-long" 1.5 s; $CPULIMIT sets the CPU time
 * limits in a constructor, $CPULIMIT_SOFT the soft one alone. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ulimit.h>
#include <unistd.h>

#include "input.h"

#ifdef OWN_PRCTL
#include <stdarg.h>
/* A prctl of the program's own (Makefile: state_own_prctl), as a program that wraps a system call
 * itself has: it comes before libforksrv.so's in the search order, and takes the calls. */
int prctl(int option, ...) {
  va_list ap;
  va_start(ap, option);
  unsigned long b = va_arg(ap, unsigned long), c = va_arg(ap, unsigned long), d = va_arg(ap, unsigned long),
                e = va_arg(ap, unsigned long);
  va_end(ap);
  return (int)syscall(SYS_prctl, option, b, c, d, e);
}
#endif

static pthread_mutex_t *robust;
static char *page; /* an anonymous page written before the fork point */
static char *droppable; /* the same, MAP_DROPPABLE (Linux 6.11), which userfaultfd cannot track */
static int own_file; /* the program's own file, opened before the fork point (at --start main) */

__attribute__((constructor)) static void early(void) {
  if (getenv("CPULIMIT")) { /* seconds of CPU time, soft and hard, as `ulimit -t` sets them */
    struct rlimit l = {(rlim_t)atol(getenv("CPULIMIT")), (rlim_t)atol(getenv("CPULIMIT"))};
    setrlimit(RLIMIT_CPU, &l);
  }
  if (getenv("CPULIMIT_SOFT")) { /* the soft one alone: SIGXCPU, where the hard one would SIGKILL */
    struct rlimit l;
    getrlimit(RLIMIT_CPU, &l);
    l.rlim_cur = (rlim_t)atol(getenv("CPULIMIT_SOFT"));
    setrlimit(RLIMIT_CPU, &l);
  }
  own_file = open("/proc/self/exe", O_RDONLY);
  page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy(page, "pristine");
  droppable = mmap(0, 4096, PROT_READ | PROT_WRITE, 0x08 /* MAP_DROPPABLE */ | MAP_ANONYMOUS, -1, 0);
  if (droppable == MAP_FAILED) droppable = 0;
  if (droppable) strcpy(droppable, "pristine");
  const char *shared = getenv("SHARED");
  if (shared) {
    int fd = open(shared, O_RDWR);
    robust = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    int *made = (int *)robust + 512; /* the file comes zeroed: the first process makes the mutex */
    if (!*made) {
      pthread_mutexattr_t a;
      pthread_mutexattr_init(&a);
      pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
      pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
      pthread_mutex_init(robust, &a);
      *made = 1;
    }
  }
}

static int wanted(const char *piece) {
  const char *only = getenv("PIECES");
  if (!only) return 1;
  size_t n = strlen(piece);
  for (const char *p = strstr(only, piece); p; p = strstr(p + 1, piece))
    if ((p == only || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
  return 0;
}

#define SAY(piece, ...)                                                                                      \
  do {                                                                                                       \
    if (wanted(piece)) printf(piece " " __VA_ARGS__), printf("\n");                                          \
  } while (0)

static long status_kb(const char *field) {
  char line[256];
  long v = -1;
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, strlen(field))) v = atol(line + strlen(field) + 1);
  if (f) fclose(f);
  return v;
}

static int count_lines(const char *path, const char *prefix) {
  char line[256];
  int n = 0;
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f)) n += !strncmp(line, prefix, strlen(prefix));
  if (f) fclose(f);
  return f ? n : -1;
}

static void found(void) {
  struct rlimit l;
  getrlimit(RLIMIT_NOFILE, &l);
  SAY("nofile", "%ld/%ld", (long)l.rlim_cur, (long)l.rlim_max);
  SAY("nofile-hard", "%ld/%ld", (long)l.rlim_cur, (long)l.rlim_max);
  getrlimit(RLIMIT_CPU, &l);
  SAY("cpu-limit", "%ld", (long)l.rlim_cur);
  SAY("fsize", "%ld", ulimit(UL_GETFSIZE));
  errno = 0;
  SAY("nice", "%d", getpriority(PRIO_PROCESS, 0));
  SAY("policy", "%d", sched_getscheduler(0));
  char name[17] = "";
  prctl(PR_GET_NAME, name);
  SAY("name", "%s", name);
  int v = 0;
  SAY("dumpable", "%d", prctl(PR_GET_DUMPABLE));
  prctl(PR_GET_PDEATHSIG, &v);
  SAY("pdeathsig", "%d", v);
  prctl(PR_GET_CHILD_SUBREAPER, &v);
  SAY("subreaper", "%d", v);
  SAY("timerslack", "%d", prctl(PR_GET_TIMERSLACK));
  SAY("thp-disable", "%d", prctl(PR_GET_THP_DISABLE));
  SAY("keepcaps", "%d", prctl(PR_GET_KEEPCAPS));
  cpu_set_t cpus;
  sched_getaffinity(0, sizeof cpus, &cpus);
  SAY("cpus", "%d", CPU_COUNT(&cpus));
  SAY("ioprio", "%ld", syscall(SYS_ioprio_get, 1, 0));
  gid_t groups[64];
  SAY("groups", "%d", getgroups(64, groups));
  SAY("fsuid", "%d", setfsuid(-1));
  SAY("personality", "%#x", personality(0xffffffff));
  struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct caps[2] = {{0}};
  syscall(SYS_capget, &head, caps);
  SAY("caps", "%#x", caps[0].effective);
  uid_t r, e, saved;
  getresuid(&r, &e, &saved);
  SAY("uid", "%d %d %d", (int)r, (int)e, (int)saved);
  SAY("group-leader", "%d", getpgrp() == getpid());
  struct stat root;
  stat("/", &root);
  SAY("root-inode", "%ld", (long)root.st_ino);
  char host[64] = "";
  gethostname(host, sizeof host);
  SAY("hostname", "%s", host);
  mode_t mask = umask(0);
  umask(mask);
  SAY("umask", "%03o", mask);
  char cwd[256] = "";
  if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "?");
  SAY("cwd-is-root", "%d", !strcmp(cwd, "/"));
  SAY("locked-kb", "%ld", status_kb("VmLck:"));
  SAY("posix-timers", "%d", count_lines("/proc/self/timers", "ID:"));
  struct itimerval it;
  getitimer(ITIMER_REAL, &it);
  SAY("itimer", "%d", it.it_value.tv_sec || it.it_value.tv_usec);
  SAY("fp-round", "%d", fegetround());
  SAY("fp-raised", "%d", fetestexcept(FE_ALL_EXCEPT));
  const char *semid = getenv("SEMID");
  SAY("semval", "%d", semid ? semctl(atoi(semid), 0, GETVAL) : -1);
  if (wanted("page")) madvise(page, 4096, MADV_PAGEOUT); /* reclaims it, if MADV_FREE let it go */
  SAY("page", "%s", page);
  SAY("droppable", "%s", droppable ? droppable : "none");
  SAY("stdout-nonblock", "%d", (fcntl(1, F_GETFL) & O_NONBLOCK) != 0);
  SAY("offset", "%ld", (long)lseek(own_file, 0, SEEK_CUR));
  if (wanted("wipeonfork")) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) printf("wipeonfork %s\n", page), fflush(stdout), _exit(0);
    waitpid(child, 0, 0);
  }
  if (robust && wanted("robust")) {
    int r = pthread_mutex_lock(robust);
    if (r == EOWNERDEAD) pthread_mutex_consistent(robust);
    printf("robust %s\n", r == EOWNERDEAD ? "owner-died" : r ? strerror(r) : "locked");
    pthread_mutex_unlock(robust);
  }
  fflush(stdout);
}

static volatile long double third;

static void change(const char *in) {
  struct rlimit l;
  if (!strcmp(in, "nofile")) getrlimit(RLIMIT_NOFILE, &l), l.rlim_cur = 64, setrlimit(RLIMIT_NOFILE, &l);
  if (!strcmp(in, "nofile-hard")) l.rlim_cur = l.rlim_max = 64, setrlimit(RLIMIT_NOFILE, &l);
  if (!strcmp(in, "fsize")) ulimit(UL_SETFSIZE, 4096l);
  if (!strcmp(in, "cpu-limit")) getrlimit(RLIMIT_CPU, &l), l.rlim_cur = 100, setrlimit(RLIMIT_CPU, &l);
  if (!strcmp(in, "nice")) errno = 0, nice(5);
  if (!strcmp(in, "policy")) sched_setscheduler(0, SCHED_BATCH, &(struct sched_param){0});
  if (!strcmp(in, "name")) prctl(PR_SET_NAME, "renamed");
  if (!strcmp(in, "dumpable")) prctl(PR_SET_DUMPABLE, 0);
  if (!strcmp(in, "pdeathsig")) prctl(PR_SET_PDEATHSIG, SIGUSR1);
  if (!strcmp(in, "subreaper")) prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (!strcmp(in, "timerslack")) prctl(PR_SET_TIMERSLACK, 123456);
  if (!strcmp(in, "thp-disable")) prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  if (!strcmp(in, "keepcaps")) prctl(PR_SET_KEEPCAPS, 1);
  if (!strcmp(in, "cpus")) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    sched_setaffinity(0, sizeof cpus, &cpus);
  }
  if (!strcmp(in, "ioprio")) syscall(SYS_ioprio_set, 1, 0, 3 << 13); /* the idle class */
  if (!strcmp(in, "groups")) setgroups(1, (gid_t[]){1234});
  if (!strcmp(in, "fsuid")) setfsuid(1234);
  if (!strcmp(in, "personality")) personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE);
  if (!strcmp(in, "caps")) {
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct caps[2];
    syscall(SYS_capget, &head, caps);
    caps[0].effective &= ~(1u << CAP_NET_RAW);
    int (*set)(void *, void *) = (int (*)(void *, void *))dlsym(RTLD_DEFAULT, "capset"); /* libc's, no header */
    set(&head, caps);
  }
  if (!strcmp(in, "root-inode")) chroot("/tmp");
  if (!strcmp(in, "uid")) setresuid(65534, 65534, 65534); /* for good */
  if (!strcmp(in, "group-leader")) setpgid(0, getpgid(getppid())); /* into its parent's group */
  if (!strcmp(in, "hostname")) unshare(CLONE_NEWUTS), sethostname("elsewhere", 9);
  if (!strcmp(in, "umask")) umask(077);
  if (!strcmp(in, "cwd-is-root")) chdir("/");
  if (!strcmp(in, "locked-kb")) mlock(page, 4096);
  if (!strcmp(in, "posix-timers")) {
    timer_t t;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
    timer_create(CLOCK_MONOTONIC, &ev, &t);
    timer_settime(t, 0, &(struct itimerspec){.it_value = {0, 300 * 1000 * 1000}}, 0); /* the next one's */
  }
  if (!strcmp(in, "itimer")) setitimer(ITIMER_REAL, &(struct itimerval){.it_value = {5, 0}}, 0);
  if (!strcmp(in, "fp-round")) fesetround(FE_UPWARD);
  if (!strcmp(in, "fp-raised")) third = 1.0L / (third + 3.0L); /* inexact, in the x87 status word */
  if (!strcmp(in, "semval") && getenv("SEMID"))
    semop(atoi(getenv("SEMID")), &(struct sembuf){0, 1, SEM_UNDO}, 1); /* undone when the process ends */
  if (!strcmp(in, "touch")) page[100] = 1; /* this process's own copy of the page from now on */
  if (!strcmp(in, "page")) madvise(page, 4096, MADV_FREE); /* not written: nothing a scan would see */
  if (!strcmp(in, "sleep")) usleep(500 * 1000);
  if (!strcmp(in, "burn")) /* 0.6 s of CPU time */
    for (clock_t start = clock(); clock() - start < CLOCKS_PER_SEC * 6 / 10;) {}
  if (!strcmp(in, "burn-long")) /* 1.5 s */
    for (clock_t start = clock(); clock() - start < CLOCKS_PER_SEC * 15 / 10;) {}
  if (!strcmp(in, "robust") && robust) pthread_mutex_lock(robust); /* and never unlocked */
  if (!strcmp(in, "wipeonfork")) madvise(page, 4096, MADV_WIPEONFORK);
  if (!strcmp(in, "droppable") && droppable) strcpy(droppable, "written");
  if (!strcmp(in, "stdout-nonblock")) fflush(stdout), fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
  char skip[100];
  if (!strcmp(in, "offset") && read(own_file, skip, sizeof skip) < 0) _exit(1);
}

int main(int argc, char **argv) {
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  found();
  change(buf);
  return 0;
}
