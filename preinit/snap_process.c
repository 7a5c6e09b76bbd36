/* Snapshot reset's process attributes, besides memory and descriptors: what a put-back sets again,
 * and what it cannot, so that the child must end. The stat line, read once per execution, tells the
 * threads, group, session, signals, name, nice value and scheduling policy; the ids, seccomp,
 * no_new_privs and I/O priority are asked every time; the rest is compared only when a call of
 * libc's touched it (snap_calls.c), or every time where none is seen. */
#include <linux/capability.h>
#include <linux/prctl.h>

#include "snapshot.h"

/* One read of the stat line: the command (field 2), group and session (5, 6), nice value (19), thread
 * count (20), size mapped (23), signal mask (32), which signals are ignored and which caught (33,
 * 34, where asking the kernel for each disposition costs 62 calls), the real-time priority and policy
 * (40, 41). The thread's line (the child runs one thread, and the count is the process's) spares the
 * kernel adding up the CPU time of all of them. */
long snap_read_stat(struct snap *h, struct proc_stat *ps) {
  long n = sys3(__NR_pread64, h->stat, h->line, sizeof h->line - 1);
  if (n <= 0) return -1;
  h->line[n] = '\0';
  const char *open = h->line, *c = h->line;
  while (*open && *open != '(') open++;
  for (const char *p = open; *p; p++)
    if (*p == ')') c = p; /* the last ')' ends the command, which may hold anything */
  if (!*open || c <= open) return -1;
  unsigned len = 0;
  for (const char *p = open + 1; p < c && len < sizeof ps->comm - 1; p++) ps->comm[len++] = *p;
  ps->comm[len] = '\0';
  unsigned field = 2;
  int negative = 0;
  uint64_t v[42] = {0};
  for (c++; *c && field < 42; c++) {
    if (*c == ' ') field++;
    else if (*c == '-' && field == 19) negative = 1;
    else if (*c >= '0' && *c <= '9') v[field] = v[field] * 10 + (uint64_t)(*c - '0');
  }
  if (field < 41) return -1;
  ps->pgrp = (long)v[5];
  ps->session = (long)v[6];
  ps->nice = negative ? -(long)v[19] : (long)v[19];
  ps->threads = (long)v[20];
  ps->vsize = v[23];
  ps->blocked = v[32];
  ps->ignored = v[33];
  ps->caught = v[34];
  ps->rt_priority = (long)v[40];
  ps->policy = (long)v[41];
  return 0;
}

/* What a process can change of itself but not change back, besides its session and group (which
 * the stat line tells): its ids, a seccomp filter, no_new_privs. */
static void ids(long out[6]) {
  sys3(__NR_getresuid, &out[0], &out[1], &out[2]);
  sys3(__NR_getresgid, &out[3], &out[4], &out[5]); /* 32-bit ids, in the low halves of zeroed longs */
}

static void caps(uint32_t out[6]) {
  struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
  for (int i = 0; i < 6; i++) out[i] = 0;
  sys2(__NR_capget, &head, out);
}

/* prctl's attributes that a put-back sets again: each read by its getter (through its int * where
 * the getter takes one) and set by its setter. Those that cannot be set back end the child instead:
 * snap_calls.c marks them as such. */
static const struct {
  int get, set, by_pointer;
} settable[] = {
    {PR_GET_DUMPABLE, PR_SET_DUMPABLE, 0},         {PR_GET_PDEATHSIG, PR_SET_PDEATHSIG, 1},
    {PR_GET_CHILD_SUBREAPER, PR_SET_CHILD_SUBREAPER, 1}, {PR_GET_TIMERSLACK, PR_SET_TIMERSLACK, 0},
    {PR_GET_THP_DISABLE, PR_SET_THP_DISABLE, 0},   {PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, 0},
    {PR_GET_TSC, PR_SET_TSC, 1},                   {PR_MCE_KILL_GET, PR_MCE_KILL, 0},
    {PR_GET_IO_FLUSHER, PR_SET_IO_FLUSHER, 0},     {PR_GET_SECUREBITS, PR_SET_SECUREBITS, 0},
    {66 /* PR_GET_MDWE: no setter */, -1, 0},
};
#define NSETTABLE (sizeof settable / sizeof settable[0])

static long prctl_get(unsigned i) {
  int v = 0;
  long r = sys_prctl(settable[i].get, settable[i].by_pointer ? (long)&v : 0, 0);
  return r < 0 ? r : settable[i].by_pointer ? v : r;
}

static long prctl_set(unsigned i, long v) {
  if (settable[i].set < 0) return -EPERM;
  if (settable[i].get == PR_MCE_KILL_GET)
    return sys5(__NR_prctl, PR_MCE_KILL, v == PR_MCE_KILL_DEFAULT ? PR_MCE_KILL_CLEAR : PR_MCE_KILL_SET,
                v == PR_MCE_KILL_DEFAULT ? 0 : v, 0, 0);
  return sys_prctl(settable[i].set, v, 0);
}

/* The System V semaphore adjustments a process's end applies: unsharing its list applies them. */
#define CLONE_SYSVSEM_ 0x00040000
#define IOPRIO_WHO_PROCESS_ 1
#define AFFINITY_BYTES 128

static void limits(struct rlimit64 out[SNAP_NLIMITS]) {
  for (int i = 0; i < SNAP_NLIMITS; i++) sys4(__NR_prlimit64, 0, i, 0, &out[i]);
}

unsigned snap_process_record(struct snap *h) {
  for (int sig = 1; sig <= SNAP_NSIG; sig++)
    if (sig != SYS_SIGKILL && sig != SYS_SIGSTOP) sys_sigaction(sig, 0, &h->act[sig]);
  sys_sigprocmask(SYS_SIG_BLOCK, 0, &h->mask);
  if (snap_read_stat(h, &h->at_snapshot) < 0) return snap_failed(h, FIFO_RECORD_PROC, -EIO);
  sys_sigaltstack(0, h->altstack);
  ids(h->ids);
  h->seccomp = sys_prctl(SYS_PR_GET_SECCOMP, 0, 0);
  h->no_new_privs = sys_prctl(SYS_PR_GET_NO_NEW_PRIVS, 0, 0);
  h->umask = (unsigned)sys_umask(022);
  sys_umask(h->umask);
  h->vm_size = h->at_snapshot.vsize;
  h->ioprio = sys2(__NR_ioprio_get, IOPRIO_WHO_PROCESS_, 0);
  caps(h->caps);
  h->ngroups = sys2(__NR_getgroups, SNAP_GROUPS, h->groups);
  h->fsuid = sys1(__NR_setfsuid, -1);
  h->fsgid = sys1(__NR_setfsgid, -1);
  h->personality = sys1(__NR_personality, 0xffffffff);
  limits(h->limits);
  for (unsigned i = 0; i < NSETTABLE; i++) h->prctl[i] = prctl_get(i);
  h->affinity = sys3(__NR_sched_getaffinity, 0, AFFINITY_BYTES, h->cpus);
  return 0;
}

/* What a put-back cannot undo and must not wait for: a thread still running, a child still alive, an
 * identity changed. Children that ended are reaped here, as the server would reap them after a fork.
 * 0, or the FIFO_DISCARD_* that ends the child. */
unsigned snap_process_must_end(struct snap *h) {
  const struct proc_stat *then = &h->at_snapshot, *now = &h->at_end;
  if (snap_read_stat(h, &h->at_end) < 0) return FIFO_DISCARD_PROC;
  if (now->threads != 1) return FIFO_DISCARD_THREAD;
  if (now->session != then->session || now->pgrp != then->pgrp) return FIFO_DISCARD_IDENTITY;
  long id[6] = {0, 0, 0, 0, 0, 0};
  ids(id);
  for (int i = 0; i < 6; i++)
    if (id[i] != h->ids[i]) return FIFO_DISCARD_IDENTITY;
  if (sys_prctl(SYS_PR_GET_SECCOMP, 0, 0) != h->seccomp || sys_prctl(SYS_PR_GET_NO_NEW_PRIVS, 0, 0) != h->no_new_privs)
    return FIFO_DISCARD_IDENTITY;
  for (;;) {
    int status;
    long r = sys_wait4(-1, &status, WNOHANG | __WALL, 0);
    if (r == -ECHILD) return 0;
    if (r <= 0 && r != -EINTR) return FIFO_DISCARD_CHILD;
  }
}

static int same(const void *a, const void *b, unsigned long n) {
  const unsigned char *x = a, *y = b;
  for (unsigned long i = 0; i < n; i++)
    if (x[i] != y[i]) return 0;
  return 1;
}

/* Every POSIX timer the execution made, deleted (a fork's child starts with none): their ids, from
 * /proc/self/timers ("ID: 3" lines). */
static long delete_timers(struct snap *h) {
  long fd = sys_open("/proc/self/timers", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  long n = sys_read((int)fd, h->line, sizeof h->line - 1);
  sys_close((int)fd);
  if (n < 0 || n == (long)sizeof h->line - 1) return -1; /* more timers than a read shows: end */
  h->line[n] = '\0';
  for (const char *c = h->line; *c; c++) {
    if (!(c[0] == 'I' && c[1] == 'D' && c[2] == ':' && (c == h->line || c[-1] == '\n'))) continue;
    long id = 0;
    for (c += 3; *c == ' '; c++) {}
    for (; *c >= '0' && *c <= '9'; c++) id = id * 10 + (*c - '0');
    if (sys1(__NR_timer_delete, id) < 0) return -1;
  }
  return 0;
}

/* What a call of libc's touched (or, where none is seen, everything), compared and set again: -1 when
 * something cannot be, and the child must end. */
static long restore_touched(struct snap *h, unsigned touched) {
  if (touched & FSRV_TOUCHED_FOREVER) return -1;
  if (touched & FSRV_TOUCHED_LIMITS) {
    struct rlimit64 now[SNAP_NLIMITS];
    limits(now);
    for (int i = 0; i < SNAP_NLIMITS; i++)
      if (!same(&now[i], &h->limits[i], sizeof now[i]) && sys4(__NR_prlimit64, 0, i, &h->limits[i], 0) < 0) return -1;
  }
  if (touched & FSRV_TOUCHED_PRCTL)
    for (unsigned i = 0; i < NSETTABLE; i++) {
      long now = prctl_get(i);
      if (now != h->prctl[i] && (now < 0 || h->prctl[i] < 0 || prctl_set(i, h->prctl[i]) < 0)) return -1;
    }
  if (touched & FSRV_TOUCHED_AFFINITY) {
    unsigned char now[AFFINITY_BYTES];
    long n = sys3(__NR_sched_getaffinity, 0, AFFINITY_BYTES, now);
    if (n != h->affinity || (n > 0 && !same(now, h->cpus, (unsigned long)n)))
      if (h->affinity < 0 || sys3(__NR_sched_setaffinity, 0, h->affinity, h->cpus) < 0) return -1;
  }
  if (touched & FSRV_TOUCHED_IDENTITY) {
    /* Groups and the filesystem ids first: an fsuid of 0 again gives back the capabilities that an
     * fsuid of another user took from the effective set. */
    uint32_t groups[SNAP_GROUPS], now[6];
    long n = sys2(__NR_getgroups, SNAP_GROUPS, groups);
    if (n != h->ngroups || (n > 0 && !same(groups, h->groups, (unsigned long)n * 4)))
      if (h->ngroups < 0 || sys2(__NR_setgroups, h->ngroups, h->groups) < 0) return -1;
    if (sys1(__NR_setfsuid, -1) != h->fsuid) sys1(__NR_setfsuid, h->fsuid);
    if (sys1(__NR_setfsgid, -1) != h->fsgid) sys1(__NR_setfsgid, h->fsgid);
    if (sys1(__NR_setfsuid, -1) != h->fsuid || sys1(__NR_setfsgid, -1) != h->fsgid) return -1;
    caps(now);
    if (!same(now, h->caps, sizeof now)) return -1; /* dropped ones cannot come back */
  }
  if ((touched & FSRV_TOUCHED_PERSONALITY) && sys1(__NR_personality, 0xffffffff) != h->personality) {
    sys1(__NR_personality, h->personality);
    if (sys1(__NR_personality, 0xffffffff) != h->personality) return -1;
  }
  if ((touched & FSRV_TOUCHED_MLOCK) && sys0(__NR_munlockall) < 0) return -1;
  if ((touched & FSRV_TOUCHED_SEMUNDO) && sys1(__NR_unshare, CLONE_SYSVSEM_) < 0) return -1;
  return 0;
}

/* Signals, timers and the rest a fresh fork would have: no interval or POSIX timers (first, so that
 * none fires while the rest is put back: every signal is blocked meanwhile), dispositions (after a
 * pending signal is dropped by ignoring it), the alternate stack, umask, cwd; the name, nice value,
 * policy and I/O priority if they changed; and what libc's calls touched. The mask comes back when
 * the next input begins (snapshot.c). -1 when something cannot be put back: the child must end. */
long snap_process_restore(struct snap *h) {
  unsigned touched = fsrv_sees_calls ? h->touched : FSRV_TOUCHED_ALL & ~(unsigned)FSRV_TOUCHED_FOREVER;
  h->touched = 0;
  unsigned long zero[4] = {0, 0, 0, 0};
  for (int which = 0; which < 3; which++) sys_setitimer(which, zero);
  if ((touched & FSRV_TOUCHED_TIMERS) && delete_timers(h) < 0) return -1;
  uint64_t pending = 0;
  sys_sigpending(&pending);
  /* Every disposition that may differ: a caught one may have another handler now; others differ only
   * if their class did, but for SIGCHLD, whose flags (SA_NOCLDWAIT) act with the default handler. */
  const struct proc_stat *then = &h->at_snapshot, *now = &h->at_end;
  uint64_t redo = then->caught | now->caught | (now->ignored ^ then->ignored) | pending | 1ull << (SYS_SIGCHLD - 1);
  struct sys_sigaction ign = {SYS_SIG_IGN, 0, 0, 0};
  for (int sig = 1; sig <= SNAP_NSIG; sig++) {
    if (sig == SYS_SIGKILL || sig == SYS_SIGSTOP || !(redo & 1ull << (sig - 1))) continue;
    if (pending & 1ull << (sig - 1)) sys_sigaction(sig, &ign, 0);
    sys_sigaction(sig, &h->act[sig], 0);
  }
  sys_sigaltstack(h->altstack, 0);
  sys_umask(h->umask);
  sys_fchdir(h->cwd);
  if (!fsrv_streq(now->comm, then->comm)) sys_prctl(PR_SET_NAME, (long)then->comm, 0);
  if (now->nice != then->nice && sys3(__NR_setpriority, 0 /* PRIO_PROCESS */, 0, then->nice) < 0) return -1;
  if (now->policy != then->policy || now->rt_priority != then->rt_priority) {
    int param = (int)then->rt_priority;
    if (sys3(__NR_sched_setscheduler, 0, then->policy, &param) < 0) return -1;
  }
  long ioprio = sys2(__NR_ioprio_get, IOPRIO_WHO_PROCESS_, 0);
  if (ioprio != h->ioprio && (h->ioprio < 0 || sys3(__NR_ioprio_set, IOPRIO_WHO_PROCESS_, 0, h->ioprio) < 0)) return -1;
  return restore_touched(h, touched);
}
