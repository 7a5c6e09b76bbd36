/* Snapshot reset's process attributes, besides memory and descriptors: what a put-back sets again
 * (signal dispositions, mask and alternate stack, interval timers, umask, cwd) and what it cannot set
 * again, so that the child must end (a thread or a child still running, a session, process group,
 * user or group id, seccomp filter or no_new_privs changed). Most of it is read from the thread's stat
 * line, once per execution. */
#include "snapshot.h"

/* One read of the stat line: the group, session and thread count (fields 5, 6, 20), the size mapped
 * (23), the signal mask (32), and which signals are ignored and which caught (33, 34), where asking
 * the kernel for each disposition costs 62 calls. The thread's line (the child runs one thread, and
 * the count is the process's) spares the kernel adding up the CPU time of all of them. */
long snap_read_stat(struct snap *h, struct proc_stat *ps) {
  long n = sys3(__NR_pread64, h->stat, h->line, sizeof h->line - 1);
  if (n <= 0) return -1;
  h->line[n] = '\0';
  const char *c = h->line;
  while (*c && *c != ')') c++; /* past the command, which may hold spaces */
  for (const char *p = c; *p; p++)
    if (*p == ')') c = p; /* the last ')' ends it */
  unsigned field = 2;
  uint64_t v[35] = {0};
  for (c++; *c && field < 35; c++) {
    if (*c == ' ') field++;
    else if (*c >= '0' && *c <= '9') v[field] = v[field] * 10 + (uint64_t)(*c - '0');
  }
  if (field < 34) return -1;
  ps->pgrp = (long)v[5];
  ps->session = (long)v[6];
  ps->threads = (long)v[20];
  ps->vsize = v[23];
  ps->blocked = v[32];
  ps->ignored = v[33];
  ps->caught = v[34];
  return 0;
}

/* What a process can change of itself but not change back, besides its session and group (which
 * the stat line tells): its ids, a seccomp filter, no_new_privs. */
static void ids(long out[6]) {
  sys3(__NR_getresuid, &out[0], &out[1], &out[2]);
  sys3(__NR_getresgid, &out[3], &out[4], &out[5]); /* 32-bit ids, in the low halves of zeroed longs */
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
  return 0;
}

/* What a put-back cannot undo and must not wait for: a thread still running, a child still alive, an
 * identity changed. Children that ended are reaped here, as the server would reap them after a fork. */
int snap_process_must_end(struct snap *h) {
  const struct proc_stat *then = &h->at_snapshot, *now = &h->at_end;
  if (snap_read_stat(h, &h->at_end) < 0 || now->threads != 1 || now->session != then->session || now->pgrp != then->pgrp)
    return 1;
  long id[6] = {0, 0, 0, 0, 0, 0};
  ids(id);
  for (int i = 0; i < 6; i++)
    if (id[i] != h->ids[i]) return 1;
  if (sys_prctl(SYS_PR_GET_SECCOMP, 0, 0) != h->seccomp || sys_prctl(SYS_PR_GET_NO_NEW_PRIVS, 0, 0) != h->no_new_privs)
    return 1;
  for (;;) {
    int status;
    long r = sys_wait4(-1, &status, WNOHANG | __WALL, 0);
    if (r == -ECHILD) return 0;
    if (r <= 0 && r != -EINTR) return 1;
  }
}

/* Signals, timers and the rest a fresh fork would have: dispositions (after a pending signal is
 * dropped by ignoring it), the mask (if the stat line says it changed), the alternate stack, no
 * interval timers, umask, cwd. */
void snap_process_restore(struct snap *h) {
  uint64_t pending = 0;
  sys_sigpending(&pending);
  /* Every disposition that may differ: a caught one may have another handler now; others differ only
   * if their class did. */
  uint64_t ignored = h->at_end.ignored, caught = h->at_end.caught;
  uint64_t redo = h->at_snapshot.caught | caught | (ignored ^ h->at_snapshot.ignored) | pending;
  struct sys_sigaction ign = {SYS_SIG_IGN, 0, 0, 0};
  for (int sig = 1; sig <= SNAP_NSIG; sig++) {
    if (sig == SYS_SIGKILL || sig == SYS_SIGSTOP || !(redo & 1ull << (sig - 1))) continue;
    if (pending & 1ull << (sig - 1)) sys_sigaction(sig, &ign, 0);
    sys_sigaction(sig, &h->act[sig], 0);
  }
  if (h->at_end.blocked != h->mask) sys_sigprocmask(SYS_SIG_SETMASK, &h->mask, 0);
  sys_sigaltstack(h->altstack, 0);
  unsigned long zero[4] = {0, 0, 0, 0};
  for (int which = 0; which < 3; which++) sys_setitimer(which, zero);
  sys_umask(h->umask);
  sys_fchdir(h->cwd);
}
