/* libc's calls that change what a snapshot child must put back, interposed by libforksrv.so: each
 * tells the child what it touched (fsrv_snapshot_touched) and does what libc's does (libc's own, found
 * as RTLD_NEXT finds it, or the kernel's call). Only what was touched is compared at the put-back, so
 * that a target that changes none of it pays nothing. A raw system call, or a call from inside libc,
 * is not seen: docs/design.md's table says what that leaves. Outside a snapshot child each is libc's. */
#include "../fifo/protocol.h"
#include "server.h"

/* libc's errno, for the calls made here without libc (found before the first fork). */
static int *(*errno_location)(void);
static int set_errno(long r) {
  if (!errno_location) errno_location = (int *(*)(void))fsrv_next_symbol("__errno_location");
  if (errno_location) *errno_location() = (int)-r;
  return -1;
}

#define EXPORT __attribute__((visibility("default")))

/* mprotect and pkey_mprotect: protections may differ from the snapshot's. */
EXPORT int mprotect(void *addr, size_t len, int prot) {
  fsrv_snapshot_touched(FSRV_TOUCHED_MAPS);
  long r = sys3(__NR_mprotect, addr, len, prot);
  return r < 0 ? set_errno(r) : 0;
}
EXPORT int pkey_mprotect(void *addr, size_t len, int prot, int pkey) {
  fsrv_snapshot_touched(FSRV_TOUCHED_MAPS);
  long r = sys4(__NR_pkey_mprotect, addr, len, prot, pkey);
  return r < 0 ? set_errno(r) : 0;
}

/* The rest go on to libc's own, looked up once (before the first fork: fsrv_calls_resolve()). */
typedef long (*fsrv_fn)(long, long, long, long, long);
static long next(fsrv_fn *fn, const char *name, long a, long b, long c, long d, long e) {
  if (!*fn) *fn = (fsrv_fn)fsrv_next_symbol(name);
  return *fn ? (*fn)(a, b, c, d, e) : set_errno(-ENOSYS);
}
#define FORWARD(name, touched, when, ...)                                                                    \
  static fsrv_fn real_##name;                                                                                \
  EXPORT long name(long a, long b, long c, long d, long e) {                                                 \
    if (when) fsrv_snapshot_touched(touched);                                                                \
    return next(&real_##name, #name, a, b, c, d, e);                                                         \
  }

/* Resource limits: setrlimit, prlimit with a new limit, ulimit's UL_SETFSIZE (2). */
FORWARD(setrlimit, FSRV_TOUCHED_LIMITS, 1)
FORWARD(setrlimit64, FSRV_TOUCHED_LIMITS, 1)
FORWARD(prlimit, FSRV_TOUCHED_LIMITS, c != 0)
FORWARD(prlimit64, FSRV_TOUCHED_LIMITS, c != 0)
FORWARD(ulimit, FSRV_TOUCHED_LIMITS, (int)a == 2)
/* Every prctl that sets something: what snap_process.c sets back (or, for the name, the stat line
 * tells), what the put-back always compares (seccomp, no_new_privs), or, for anything else (the
 * capability bounding and ambient sets, the mm's fields, mappings' names, speculation control, a
 * ptracer, an option this list does not know), the child ends. Asking changes nothing. The option
 * and the argument are ints, in registers whose upper halves are undefined. */
static unsigned prctl_touches(long option, long arg2) {
  switch ((int)option) {
  case 1: case 4: case 8: case 26: case 28: case 29: case 33: case 36: case 41: case 57: case 65:
    /* PR_SET_PDEATHSIG, _DUMPABLE, _KEEPCAPS, _TSC, _SECUREBITS, _TIMERSLACK, PR_MCE_KILL,
     * PR_SET_CHILD_SUBREAPER, _THP_DISABLE, _IO_FLUSHER, _MDWE */
    return FSRV_TOUCHED_PRCTL;
  case 15: case 22: case 38: /* PR_SET_NAME, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS */
    return 0;
  case 2: case 3: case 7: case 16: case 21: case 23: case 25: case 27: case 30: case 34: case 37: case 39:
  case 40: case 42: case 52: case 56: case 58: case 66: case 0x41555856:
    /* the getters: PR_GET_PDEATHSIG ... PR_GET_MDWE, PR_CAPBSET_READ, PR_GET_AUXV */
    return 0;
  case 47: /* PR_CAP_AMBIENT: PR_CAP_AMBIENT_IS_SET asks */
    return (int)arg2 == 1 ? 0 : FSRV_TOUCHED_FOREVER;
  default:
    return FSRV_TOUCHED_FOREVER;
  }
}
static fsrv_fn real_prctl;
EXPORT long prctl(long option, long b, long c, long d, long e) {
  unsigned touched = prctl_touches(option, b);
  if (touched) fsrv_snapshot_touched(touched);
  return next(&real_prctl, "prctl", option, b, c, d, e);
}
FORWARD(sched_setaffinity, FSRV_TOUCHED_AFFINITY, 1)
FORWARD(pthread_setaffinity_np, FSRV_TOUCHED_AFFINITY, 1)
/* Identity beyond the ids the put-back always compares. */
FORWARD(setgroups, FSRV_TOUCHED_IDENTITY, 1)
FORWARD(initgroups, FSRV_TOUCHED_IDENTITY, 1)
FORWARD(setfsuid, FSRV_TOUCHED_IDENTITY, 1)
FORWARD(setfsgid, FSRV_TOUCHED_IDENTITY, 1)
FORWARD(capset, FSRV_TOUCHED_IDENTITY, 1)
/* personality(0xffffffff) only asks. */
FORWARD(personality, FSRV_TOUCHED_PERSONALITY, (unsigned)a != 0xffffffffu)
FORWARD(mlock, FSRV_TOUCHED_MLOCK, 1)
FORWARD(mlock2, FSRV_TOUCHED_MLOCK, 1)
FORWARD(mlockall, FSRV_TOUCHED_MLOCK, 1)
FORWARD(timer_create, FSRV_TOUCHED_TIMERS, 1)
/* Any semop may carry SEM_UNDO: the undo a process's end would apply is applied at the put-back. */
FORWARD(semop, FSRV_TOUCHED_SEMUNDO, 1)
FORWARD(semtimedop, FSRV_TOUCHED_SEMUNDO, 1)
/* What cannot be undone: another root, other namespaces, being traced (PTRACE_TRACEME, by the server). */
FORWARD(chroot, FSRV_TOUCHED_FOREVER, 1)
FORWARD(ptrace, FSRV_TOUCHED_FOREVER, 1)
FORWARD(unshare, FSRV_TOUCHED_FOREVER, 1)
FORWARD(setns, FSRV_TOUCHED_FOREVER, 1)

/* madvise: pages dropped (MADV_DONTNEED, MADV_REMOVE, MADV_FREE, whose pages stay until reclaimed)
 * are recorded, and the put-back gives them their contents back (snap_memory.c: a private file
 * mapping's would read the file again unseen); an advice that changes how a mapping behaves (fork,
 * dump, merging, huge pages, guards) cannot be undone. */
static int drops(long advice) { return advice == 4 || advice == 8 || advice == 9 || advice == 24; }
static int harmless_advice(long advice) {
  switch (advice) {
  case 0: case 1: case 2: case 3: case 4: /* normal, random, sequential, willneed, dontneed */
  case 9:                                 /* remove */
  case 20: case 21:                       /* cold, pageout */
  case 22: case 23:                       /* populate (read), populate (write) */
  case 24:                                /* dontneed_locked */
    return 1;
  default:
    return 0;
  }
}
static fsrv_fn real_madvise;
EXPORT long madvise(long addr, long len, long advice, long d, long e) {
  long r = next(&real_madvise, "madvise", addr, len, advice, d, e);
  if (drops((int)advice)) {
    if ((int)r == 0) fsrv_snapshot_freed((unsigned long)addr, (unsigned long)len);
  } else if (!harmless_advice((int)advice)) {
    fsrv_snapshot_touched(FSRV_TOUCHED_FOREVER);
  }
  return r;
}

/* Exit handlers: a snapshot child's execution ends in one of its own, which must run after every
 * other, so it must be registered first (handlers run last-registered first). A library's
 * constructor, or the program's .preinit_array, can register one before the preload's own start is
 * reached, and before the environment says whether snapshot reset is wanted: the first registration
 * of anyone's registers the snapshot's before it, unless it is known not to be wanted. */
static fsrv_fn real___cxa_atexit, real_on_exit;
EXPORT long __cxa_atexit(long fn, long arg, long dso, long d, long e) {
  if (fsrv_reset_snapshot_maybe()) fsrv_snapshot_hook_exit();
  return next(&real___cxa_atexit, "__cxa_atexit", fn, arg, dso, d, e);
}
EXPORT long on_exit(long fn, long arg, long c, long d, long e) {
  if (fsrv_reset_snapshot_maybe()) fsrv_snapshot_hook_exit();
  return next(&real_on_exit, "on_exit", fn, arg, c, d, e);
}

/* Every call above: libc's own (none for those made as system calls), and what it touches (none for
 * the exit handlers, which touch no state). */
static const struct {
  fsrv_fn *fn;
  const char *name;
  unsigned touched;
} calls[] = {
    {0, "mprotect", FSRV_TOUCHED_MAPS}, {0, "pkey_mprotect", FSRV_TOUCHED_MAPS},
    {&real_madvise, "madvise", FSRV_TOUCHED_FOREVER}, {&real_setrlimit, "setrlimit", FSRV_TOUCHED_LIMITS},
    {&real_setrlimit64, "setrlimit64", FSRV_TOUCHED_LIMITS}, {&real_prlimit, "prlimit", FSRV_TOUCHED_LIMITS},
    {&real_prlimit64, "prlimit64", FSRV_TOUCHED_LIMITS}, {&real_ulimit, "ulimit", FSRV_TOUCHED_LIMITS},
    {&real_prctl, "prctl", FSRV_TOUCHED_FOREVER}, {&real_sched_setaffinity, "sched_setaffinity", FSRV_TOUCHED_AFFINITY},
    {&real_pthread_setaffinity_np, "pthread_setaffinity_np", FSRV_TOUCHED_AFFINITY},
    {&real_setgroups, "setgroups", FSRV_TOUCHED_IDENTITY}, {&real_initgroups, "initgroups", FSRV_TOUCHED_IDENTITY},
    {&real_setfsuid, "setfsuid", FSRV_TOUCHED_IDENTITY}, {&real_setfsgid, "setfsgid", FSRV_TOUCHED_IDENTITY},
    {&real_capset, "capset", FSRV_TOUCHED_IDENTITY}, {&real_personality, "personality", FSRV_TOUCHED_PERSONALITY},
    {&real_mlock, "mlock", FSRV_TOUCHED_MLOCK}, {&real_mlock2, "mlock2", FSRV_TOUCHED_MLOCK},
    {&real_mlockall, "mlockall", FSRV_TOUCHED_MLOCK}, {&real_timer_create, "timer_create", FSRV_TOUCHED_TIMERS},
    {&real_semop, "semop", FSRV_TOUCHED_SEMUNDO}, {&real_semtimedop, "semtimedop", FSRV_TOUCHED_SEMUNDO},
    {&real_chroot, "chroot", FSRV_TOUCHED_FOREVER}, {&real_unshare, "unshare", FSRV_TOUCHED_FOREVER},
    {&real_setns, "setns", FSRV_TOUCHED_FOREVER}, {&real_ptrace, "ptrace", FSRV_TOUCHED_FOREVER},
    {&real___cxa_atexit, "__cxa_atexit", 0}, {&real_on_exit, "on_exit", 0},
};

/* A program (or a library before ours in the search order) that defines one of these names itself,
 * as libcap once defined capset, takes the calls: what they touch is compared after every execution;
 * what no put-back can compare (madvise's dropped pages and advice, prctl's other options, another
 * root or namespace, a tracer) ends the child after every execution. */
unsigned fsrv_calls_unseen(void) {
  unsigned unseen = 0;
  for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++)
    if (calls[i].touched && !fsrv_binds_here(calls[i].name)) unseen |= calls[i].touched;
  return unseen;
}

/* Every function above, found now, so that no child looks one up. */
void fsrv_calls_resolve(void) {
  for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++)
    if (calls[i].fn && !*calls[i].fn) *calls[i].fn = (fsrv_fn)fsrv_next_symbol(calls[i].name);
  if (!errno_location) errno_location = (int *(*)(void))fsrv_next_symbol("__errno_location");
}
