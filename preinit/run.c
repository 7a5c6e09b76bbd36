/* One execution, from fork to reaping, shared by every protocol the server speaks. The rule it keeps:
 * only the process that reaps a child signals it, and only before reaping it, so a pid it signals can
 * never have been recycled. Timeouts are enforced here (SIGCHLD's signalfd and the request FIFO in
 * one ppoll), and after each execution every leftover descendant is killed and reaped. */
#include "server.h"

long fsrv_read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    long r = sys_read(fd, (char *)buf + got, n - got);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (long)got;
}

long fsrv_write_full(int fd, const void *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    long r = sys_write(fd, (const char *)buf + put, n - put);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    put += (size_t)r;
  }
  return (long)put;
}

struct fsrv *fsrv_current;

#if defined(__x86_64__)
#define VDSO_CLOCK_GETTIME "__vdso_clock_gettime"
#else
#define VDSO_CLOCK_GETTIME "__kernel_clock_gettime"
#endif
/* The vDSO's clock_gettime, found once: two system calls fewer per execution. */
static long (*vdso_clock_gettime)(long clock, struct timespec *ts);

/* A server that cannot start leaves the target as it found it: its signal mask, its SIGCHLD
 * disposition, and a subreaper only if it was one. */
static long undo_setup(struct fsrv *s, long err, int mask_blocked, int was_subreaper) {
  if (mask_blocked) sys_sigprocmask(SYS_SIG_SETMASK, &s->old_mask, 0);
  if (s->restore_chld) sys_sigaction(SYS_SIGCHLD, &s->old_chld, 0);
  if (!was_subreaper) sys_prctl(SYS_PR_SET_CHILD_SUBREAPER, 0, 0);
  return err;
}

/* Calls each(s, pid) for every pid listed in a /proc .../children file. Returns how many. */
static long each_pid(const char *path, int (*each)(struct fsrv *s, int pid), struct fsrv *s) {
  char buf[4096];
  long fd = sys_open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  long n = 0, pid = 0;
  int in_number = 0;
  for (;;) {
    long r = sys_read((int)fd, buf, sizeof buf);
    if (r == -EINTR) continue;
    if (r <= 0) break;
    for (long i = 0; i < r; i++) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
        in_number = 1;
      } else if (in_number) {
        if (pid > 0) n += each(s, (int)pid);
        pid = 0;
        in_number = 0;
      }
    }
  }
  if (in_number && pid > 0) n += each(s, (int)pid);
  sys_close((int)fd);
  return n;
}

static int kept(const struct fsrv *s, int pid) {
  for (unsigned i = 0; i < s->nkeep; i++)
    if (s->keep[i] == pid) return 1;
  return 0;
}

static int keep_pid(struct fsrv *s, int pid) {
  if (s->nkeep == FSRV_KEEP_MAX || kept(s, pid)) return 0;
  s->keep[s->nkeep++] = pid;
  return 1;
}

/* "/proc/<pid>/task/<pid>/children": the children of a process's main thread. */
static void children_path(int pid, char out[64]) {
  char digits[24];
  const char *d = fsrv_decimal((unsigned long)pid, digits);
  const char *parts[] = {"/proc/", d, "/task/", d, "/children", 0};
  size_t n = 0;
  for (const char *const *p = parts; *p; p++)
    for (const char *c = *p; *c; c++) out[n++] = *c;
  out[n] = '\0';
}

/* What the target started before the fork point: the server thread's children, and theirs, as far
 * as FSRV_KEEP_MAX goes (a grandchild becomes the server's child if its parent dies). */
static void keep_existing(struct fsrv *s) {
  s->nkeep = 0;
  each_pid("/proc/thread-self/children", keep_pid, s);
  for (unsigned i = 0; i < s->nkeep; i++) {
    char path[64];
    children_path(s->keep[i], path);
    each_pid(path, keep_pid, s);
  }
}

static void forget(struct fsrv *s, int pid) {
  for (unsigned i = 0; i < s->nkeep; i++)
    if (s->keep[i] == pid) s->keep[i] = s->keep[--s->nkeep];
}

/* SIG_IGN or SA_NOCLDWAIT on SIGCHLD make the kernel reap the server's children itself, and wait4
 * then finds none: the server waits with the default disposition. */
static long own_sigchld(struct fsrv *s) {
  s->restore_chld = 0;
  long r = sys_sigaction(SYS_SIGCHLD, 0, &s->old_chld);
  if (r < 0) return r;
  if (s->old_chld.handler != SYS_SIG_IGN && !(s->old_chld.flags & SYS_SA_NOCLDWAIT)) return 0;
  struct sys_sigaction dfl = {0, 0, 0, 0};
  r = sys_sigaction(SYS_SIGCHLD, &dfl, 0);
  if (r == 0) s->restore_chld = 1;
  return r;
}

long fsrv_setup(struct fsrv *s, int req, int rep, unsigned start, int all_signals) {
  s->start = start;
  struct fsrv_auxv aux;
  if (fsrv_auxv_read(&aux) >= 0) vdso_clock_gettime = fsrv_vdso_symbol(aux.vdso, VDSO_CLOCK_GETTIME);
  fsrv_current = s;
  s->persist.loop_fd = s->persist.go_fd = -1;
  s->persist.went = 0;
  s->persist.slot = 0;
  s->fuzzer_shm = -1;
  s->req = req;
  s->rep = rep;
  fsrv_fds_record(s);
  s->pid = (int)sys_getpid();
  s->child_fd = -1;
  s->threads = fsrv_count_threads();
  /* The slot glibc registered with set_tid_address is its thread descriptor's tid: the child's copy
   * must hold the child's tid, or raise() and abort() would aim at the server's thread. */
  int *slot = 0;
  long r = sys_prctl(SYS_PR_GET_TID_ADDRESS, (long)&slot, 0);
  if (r < 0) return r;
  if (!slot || *slot != (int)sys_gettid()) return -ENOSYS;
  s->tid_slot = slot;
  s->robust_head = 0;
  s->robust_len = 0;
  sys_get_robust_list(&s->robust_head, &s->robust_len);
  int was_subreaper = 0;
  sys_prctl(SYS_PR_GET_CHILD_SUBREAPER, (long)&was_subreaper, 0);
  r = sys_prctl(SYS_PR_SET_CHILD_SUBREAPER, 1, 0);
  if (r < 0) return r;
  r = own_sigchld(s);
  if (r < 0) return undo_setup(s, r, 0, was_subreaper);
  keep_existing(s);
  /* Blocked in the server (each child gets the target's mask back): SIGPIPE, so that a driver that
   * vanishes does not kill it before it has cleaned up; SIGCHLD, read from a signalfd (one fd for the
   * server's whole life, where a pidfd per child costs an fd's making and closing per execution);
   * and under forksrv's driver every other signal that can be, so that a child that signals a pid
   * the target saved before the fork point (a shell's $$) does not kill the server and the run. */
  uint64_t chld_bit = 1ull << (SYS_SIGCHLD - 1), pipe_bit = 1ull << (SYS_SIGPIPE - 1);
  uint64_t bits = all_signals ? ~0ull & ~(1ull << (SYS_SIGKILL - 1)) & ~(1ull << (SYS_SIGSTOP - 1)) : chld_bit | pipe_bit;
  r = sys_sigprocmask(SYS_SIG_BLOCK, &bits, &s->old_mask);
  if (r < 0) return undo_setup(s, r, 0, was_subreaper);
  s->restore_mask = (s->old_mask & bits) != bits;
  r = sys_signalfd(&chld_bit, SYS_EFD_CLOEXEC | SYS_EFD_NONBLOCK);
  if (r < 0) return undo_setup(s, r, 1, was_subreaper);
  /* Next to the FIFOs, so that each child closes all three in one call. */
  s->chld_fd = fsrv_move_up((int)r, rep >= 0 ? rep + 1 : FSRV_HIGH_FD);
  /* The driver armed this for start-up; from now on the request FIFO tells the server its peer died,
   * and the server cleans up before it goes. */
  r = sys_prctl(SYS_PR_SET_PDEATHSIG, 0, 0);
  if (r < 0) {
    sys_close(s->chld_fd);
    return undo_setup(s, r, 1, was_subreaper);
  }
  return 0;
}

static void become_target(struct fsrv *s) {
  if (s->req < 0 || s->rep != s->req + 1 || s->chld_fd != s->rep + 1 || sys_close_range(s->req, s->chld_fd) < 0) {
    sys_close(s->req);
    sys_close(s->rep);
    sys_close(s->chld_fd);
  }
  if (s->robust_head) sys_set_robust_list(s->robust_head, s->robust_len);
  if (s->restore_chld) sys_sigaction(SYS_SIGCHLD, &s->old_chld, 0);
  if (s->restore_mask) sys_sigprocmask(SYS_SIG_SETMASK, &s->old_mask, 0);
  sys_prctl(SYS_PR_SET_PDEATHSIG, SYS_SIGKILL, 0);
  /* The server may have died between fork and prctl: then nobody would ever reap us. */
  if (sys_getppid() != s->pid) sys_exit_group(1);
  /* Its own group, so that a timeout kills what it started, and the terminal's signals reach the
   * driver only. */
  sys_setpgid(0, 0);
}

/* Returns the child's pid in the server, 0 in the child (ready to be the target), or -errno.
 * After a fork every page of the server is write-protected for copy-on-write: the server's first store
 * to a page costs a fault, even once the child is gone. So the hot path stores into *s only what
 * changed (child_fd only with a pidfd, went only when it flips). */
long fsrv_fork(struct fsrv *s) {
  int pidfd = -1;
  long pid = sys_fork(s->tid_slot, s->threads > 1 ? &pidfd : 0);
  if (pid == 0) become_target(s);
  if (pid > 0 && pidfd >= 0) s->child_fd = pidfd;
  return pid;
}

static int kill_unkept(struct fsrv *s, int pid) { return !kept(s, pid) && sys_kill(pid, SYS_SIGKILL) == 0; }

/* After the target child is reaped, its descendants that outlived it are the server's children (it is
 * their subreaper), beside what the target started before the fork point, which is left alone. One
 * wait4 tells whether any child is left at all; only then is there more to do. __WNOTHREAD: with
 * threads at the fork point, the other threads' children are theirs. */
void fsrv_sweep(struct fsrv *s) {
  int st;
  for (;;) {
    long r = sys_wait4(-1, &st, WNOHANG | __WALL | __WNOTHREAD, 0);
    if (r > 0) forget(s, (int)r);
    if (r > 0 || r == -EINTR) continue;
    if (r != 0) return; /* ECHILD: nothing left */
    /* Every unreaped child's pid is its own, so signalling one cannot reach another process. */
    if (each_pid("/proc/thread-self/children", kill_unkept, s) == 0) return;
    do r = sys_wait4(-1, &st, __WALL | __WNOTHREAD, 0);
    while (r == -EINTR);
    if (r > 0) forget(s, (int)r);
  }
}

void fsrv_kill_child(int pid) {
  /* pid > 0 always here: a computed -1 or 0 would signal far more than the child. */
  sys_kill(pid, SYS_SIGKILL);
  sys_kill(-pid, SYS_SIGKILL);
}

static void child_reaped(struct fsrv *s) {
  if (s->child_fd < 0) return;
  sys_close(s->child_fd);
  s->child_fd = -1;
}

long fsrv_reap(struct fsrv *s, int pid, int *status, struct rusage *ru) {
  long r;
  do r = sys_wait4(pid, status, __WALL, ru);
  while (r == -EINTR);
  child_reaped(s);
  return r < 0 ? r : 0;
}

/* The fd that becomes readable when the child ends: its pidfd, or SIGCHLD's signalfd. */
int fsrv_child_end_fd(const struct fsrv *s) { return s->child_fd >= 0 ? s->child_fd : s->chld_fd; }

/* The child's end was signalled: whether it did end, which is then reaped into ex. A SIGCHLD may have
 * been another's (a descendant the server adopted): then the child is still running. A wait that
 * fails (the child is gone: something else reaped it) ends the execution with that error. */
int fsrv_ended(struct fsrv *s, int pid, struct fsrv_exec *ex) {
  char drain[512]; /* SIGCHLD is pending once however many children ended: one record */
  if (s->child_fd < 0) sys_read(s->chld_fd, drain, sizeof drain);
  long r;
  do r = sys_wait4(pid, &ex->status, WNOHANG | __WALL, &ex->ru);
  while (r == -EINTR);
  if (r == 0) return 0;
  child_reaped(s);
  if (r < 0) ex->wait_error = r;
  return 1;
}

void fsrv_peer_gone(struct fsrv *s, int pid) {
  if (pid > 0) {
    int st;
    struct rusage ru;
    fsrv_kill_child(pid);
    fsrv_reap(s, pid, &st, &ru);
  }
  /* The run is over: what the target started before the fork point goes too. */
  s->nkeep = 0;
  fsrv_sweep(s);
  sys_close(s->req);
  sys_close(s->rep);
  sys_exit_group(0);
}

uint64_t fsrv_now_us(void) {
  struct timespec ts;
  if (!vdso_clock_gettime || vdso_clock_gettime(CLOCK_MONOTONIC, &ts) != 0) sys_clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void fsrv_await(struct fsrv *s, int pid, uint32_t timeout_ms, uint64_t started_us, struct fsrv_exec *ex) {
  struct timespec left = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000};
  /* events 0 on the request FIFO: only its hang-up (the driver is gone) wakes us, never a request
   * the driver sent ahead. */
  struct pollfd fds[3] = {{fsrv_child_end_fd(s), POLLIN, 0}, {s->req, 0, 0}, {s->persist.loop_fd, POLLIN, 0}};
  ex->timed_out = 0;
  ex->stopped = 0;
  ex->wait_error = 0;
  ex->done = 0;
  for (;;) {
    /* The kernel's ppoll writes the time left back into `left`, so a retry keeps the deadline. */
    long r = sys_ppoll(fds, s->persist.loop_fd >= 0 ? 3 : 2, timeout_ms ? &left : 0);
    if (r == -EINTR) continue;
    if (r > 0 && fds[1].revents) fsrv_peer_gone(s, pid);
    /* First whether the child ended: a SIGCHLD may also be another's, and then an "input done"
     * that came with it still parks the child. */
    int done = r > 0 && fds[0].revents && fsrv_ended(s, pid, ex);
    uint64_t count = 0;
    /* A snapshot child that said its input was done and then ended (it could not be put back) leaves
     * its word behind its end: read it, so that the outcome is the one its exit gave. */
    if ((r > 0 && fds[2].revents) || (done && s->snapshot_child)) sys_read(s->persist.loop_fd, &count, sizeof count);
    ex->done = count;
    if (done) break;
    if (r > 0 && fds[2].revents) {
      /* A persistent child finished its input and parks on go_fd. Its status is the stop that
       * AFL++'s protocol expects of a persistent child; it shares its rusage with its other inputs,
       * so it reports none. */
      ex->wall_us = started_us ? fsrv_now_us() - started_us : 0;
      ex->stopped = 1;
      ex->status = SYS_SIGSTOP << 8 | 0x7f;
      for (unsigned i = 0; i < sizeof ex->ru; i++) ((char *)&ex->ru)[i] = 0;
      return;
    }
    if (r > 0) continue;
    /* The deadline passed (or ppoll itself failed, which leaves nothing better to do). A child killed
     * just after its "input done" must not leave that word to the next child. */
    fsrv_kill_child(pid);
    if (s->persist.loop_fd >= 0) sys_read(s->persist.loop_fd, &count, sizeof count);
    ex->timed_out = r == 0;
    ex->wait_error = fsrv_reap(s, pid, &ex->status, &ex->ru);
    break;
  }
  ex->wall_us = started_us ? fsrv_now_us() - started_us : 0;
  fsrv_sweep(s);
  fsrv_fds_restore(s);
}
