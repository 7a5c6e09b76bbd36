/* libc's calls that change what a snapshot child must put back, interposed in every build: each tells
 * the child what it touched (fsrv_snapshot_touched), then does what libc's does: libc's own, found as
 * RTLD_NEXT finds it, or in a static program the system call, which is all libc's does. Only what was
 * touched is compared at the put-back. Linked into a program (libforksrv.a), the program's own
 * definitions bind its calls and, exported, every library's; fsrv_calls_check() says which do. */
#include "../fifo/protocol.h"
#include "server.h"

#define EXPORT __attribute__((visibility("default")))

/* libc's errno: looked up (libforksrv.so has no libc of its own), or a static program's. */
static int *(*errno_location)(void);
int fsrv_calls_set_errno(long r) {
  if (!errno_location) errno_location = (int *(*)(void))fsrv_next_symbol("__errno_location");
  if (!errno_location) errno_location = fsrv_static_errno;
  int *e = errno_location();
  if (e) *e = (int)-r;
  return -1;
}
static long done(long r) { return (unsigned long)r > -4096ul ? fsrv_calls_set_errno(r) : r; }

/* libc's own, looked up once (before the first fork: fsrv_calls_resolve), or NONE where there is
 * none (a static program): then the wrapper makes the system call. */
fsrv_fn fsrv_calls_find(fsrv_fn *fn, const char *name) {
  if (!*fn) *fn = (fsrv_fn)fsrv_next_symbol(name);
  if (!*fn) *fn = FSRV_CALL_NONE;
  return *fn;
}
#define NONE FSRV_CALL_NONE

/* Each wrapper is a weak alias, so that another definition (a sanitizer's interceptor, libc.a's own)
 * wins over it rather than clash; fsrv_calls_check() then finds the program's calls go elsewhere. */
#define WRAP(name, fn) EXPORT long name(long, long, long, long, long) __attribute__((weak, alias(#fn)));
#define FORWARD(name, touched, when, raw)                                                                    \
  static fsrv_fn real_##name;                                                                                \
  static long call_##name(long a, long b, long c, long d, long e) {                                          \
    if (when) fsrv_snapshot_touched(touched);                                                                \
    fsrv_fn f = fsrv_calls_find(&real_##name, #name);                                                        \
    return f != NONE ? f(a, b, c, d, e) : done(raw);                                                         \
  }                                                                                                          \
  WRAP(name, call_##name)

/* mprotect and pkey_mprotect: protections may differ from the snapshot's. */
static long call_mprotect(long addr, long len, long prot, long d, long e) {
  (void)d, (void)e;
  fsrv_snapshot_touched(FSRV_TOUCHED_MAPS);
  return done(sys3(__NR_mprotect, addr, len, prot));
}
WRAP(mprotect, call_mprotect)
static long call_pkey_mprotect(long addr, long len, long prot, long pkey, long e) {
  (void)e;
  fsrv_snapshot_touched(FSRV_TOUCHED_MAPS);
  return done(sys4(__NR_pkey_mprotect, addr, len, prot, pkey));
}
WRAP(pkey_mprotect, call_pkey_mprotect)

/* glibc's ulimit, for a static program: the file size limit in 512-byte blocks (UL_GETFSIZE, 1;
 * UL_SETFSIZE, 2, which sets both limits), the fd limit (__UL_GETOPENMAX, 4). */
static long raw_ulimit(long cmd, long blocks) {
  struct rlimit64 r;
  if ((int)cmd == 1 || (int)cmd == 4) {
    long e = sys4(__NR_prlimit64, 0, (int)cmd == 1 ? 1 /* RLIMIT_FSIZE */ : 7 /* RLIMIT_NOFILE */, 0, &r);
    if (e < 0) return e;
    if ((int)cmd == 4) return (long)r.rlim_cur;
    return r.rlim_cur == ~0ull ? 0x7fffffffffffffffl : (long)(r.rlim_cur / 512);
  }
  if ((int)cmd != 2) return -EINVAL;
  int infinite = (unsigned long)blocks > ~0ull / 512;
  r.rlim_cur = r.rlim_max = infinite ? ~0ull : (unsigned long)blocks * 512;
  long e = sys4(__NR_prlimit64, 0, 1, &r, 0);
  return e < 0 ? e : infinite ? 0x7fffffffffffffffl : blocks;
}

/* Resource limits: setrlimit, prlimit with a new limit, ulimit's UL_SETFSIZE (2). */
FORWARD(setrlimit, FSRV_TOUCHED_LIMITS, 1, sys4(__NR_prlimit64, 0, a, b, 0))
FORWARD(setrlimit64, FSRV_TOUCHED_LIMITS, 1, sys4(__NR_prlimit64, 0, a, b, 0))
FORWARD(prlimit, FSRV_TOUCHED_LIMITS, c != 0, sys4(__NR_prlimit64, a, b, c, d))
FORWARD(prlimit64, FSRV_TOUCHED_LIMITS, c != 0, sys4(__NR_prlimit64, a, b, c, d))
FORWARD(ulimit, FSRV_TOUCHED_LIMITS, (int)a == 2, raw_ulimit(a, b))
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
FORWARD(prctl, prctl_touches(a, b), prctl_touches(a, b), sys5(__NR_prctl, (int)a, b, c, d, e))
FORWARD(sched_setaffinity, FSRV_TOUCHED_AFFINITY, 1, sys3(__NR_sched_setaffinity, (int)a, b, c))
/* Identity beyond the ids the put-back always compares. */
FORWARD(setfsuid, FSRV_TOUCHED_IDENTITY, 1, sys1(__NR_setfsuid, (unsigned)a))
FORWARD(setfsgid, FSRV_TOUCHED_IDENTITY, 1, sys1(__NR_setfsgid, (unsigned)a))
FORWARD(capset, FSRV_TOUCHED_IDENTITY, 1, sys2(__NR_capset, a, b))
/* personality(0xffffffff) only asks. */
FORWARD(personality, FSRV_TOUCHED_PERSONALITY, (unsigned)a != 0xffffffffu, sys1(__NR_personality, (unsigned)a))
FORWARD(mlock, FSRV_TOUCHED_MLOCK, 1, sys2(__NR_mlock, a, b))
FORWARD(mlock2, FSRV_TOUCHED_MLOCK, 1, sys3(__NR_mlock2, a, b, (unsigned)c))
FORWARD(mlockall, FSRV_TOUCHED_MLOCK, 1, sys1(__NR_mlockall, (int)a))
/* What cannot be undone: another root, other namespaces. */
FORWARD(chroot, FSRV_TOUCHED_FOREVER, 1, sys1(__NR_chroot, a))
FORWARD(unshare, FSRV_TOUCHED_FOREVER, 1, sys1(__NR_unshare, (int)a))
FORWARD(setns, FSRV_TOUCHED_FOREVER, 1, sys2(__NR_setns, (int)a, (int)b))

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
static long call_madvise(long addr, long len, long advice, long d, long e) {
  fsrv_fn f = fsrv_calls_find(&real_madvise, "madvise");
  long r = f != NONE ? f(addr, len, advice, d, e) : done(sys3(__NR_madvise, addr, len, (int)advice));
  if (drops((int)advice)) {
    if ((int)r == 0) fsrv_snapshot_freed((unsigned long)addr, (unsigned long)len);
  } else if (!harmless_advice((int)advice)) {
    fsrv_snapshot_touched(FSRV_TOUCHED_FOREVER);
  }
  return r;
}
WRAP(madvise, call_madvise)

/* Each wrapper above: its name, what it touches, itself, and the function the program's own calls
 * reach (this one, unless another definition won). */
static const struct {
  const char *name;
  unsigned touched;
  fsrv_fn *real;
  void *ours, *linked;
} calls[] = {
#define CALL(name, touched) {#name, touched, &real_##name, (void *)call_##name, (void *)name}
    {"mprotect", FSRV_TOUCHED_MAPS, 0, (void *)call_mprotect, (void *)mprotect},
    {"pkey_mprotect", FSRV_TOUCHED_MAPS, 0, (void *)call_pkey_mprotect, (void *)pkey_mprotect},
    CALL(setrlimit, FSRV_TOUCHED_LIMITS), CALL(setrlimit64, FSRV_TOUCHED_LIMITS),
    CALL(prlimit, FSRV_TOUCHED_LIMITS), CALL(prlimit64, FSRV_TOUCHED_LIMITS), CALL(ulimit, FSRV_TOUCHED_LIMITS),
    CALL(prctl, FSRV_TOUCHED_PRCTL), CALL(sched_setaffinity, FSRV_TOUCHED_AFFINITY),
    CALL(setfsuid, FSRV_TOUCHED_IDENTITY), CALL(setfsgid, FSRV_TOUCHED_IDENTITY), CALL(capset, FSRV_TOUCHED_IDENTITY),
    CALL(personality, FSRV_TOUCHED_PERSONALITY), CALL(mlock, FSRV_TOUCHED_MLOCK), CALL(mlock2, FSRV_TOUCHED_MLOCK),
    CALL(mlockall, FSRV_TOUCHED_MLOCK), CALL(madvise, FSRV_TOUCHED_MAPS),
    /* another root or namespace is compared after every execution anyway */
    CALL(chroot, 0), CALL(unshare, 0), CALL(setns, 0),
#undef CALL
};

/* Every libc function above, found now, so that no child looks one up. */
void fsrv_calls_resolve(void) {
  for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++)
    if (calls[i].real) fsrv_calls_find(calls[i].real, calls[i].name);
  if (!errno_location) errno_location = (int *(*)(void))fsrv_next_symbol("__errno_location");
  if (!errno_location) errno_location = fsrv_static_errno;
}

/* In a program that links the server in: what the program's calls may change unseen. A wrapper sees
 * the program's calls where the link bound them to it and, in a dynamic program, where the program
 * exports it, so that every library's calls reach it too; a version script that hides it, or another
 * definition that won (a sanitizer's interceptor), leaves its state to be compared after every
 * execution. So do the calls only libforksrv.so interposes (snap_calls_libc.c). */
unsigned fsrv_calls_check(void) {
  unsigned unseen = FSRV_TOUCHED_AFFINITY | FSRV_TOUCHED_IDENTITY | FSRV_TOUCHED_TIMERS | FSRV_TOUCHED_SEMUNDO;
  int dynamic = fsrv_dynamic_program();
  for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    void *const volatile linked = calls[i].linked;
    if (linked != calls[i].ours || (dynamic && fsrv_program_function(calls[i].name) != calls[i].ours))
      unseen |= calls[i].touched;
  }
  return unseen;
}
