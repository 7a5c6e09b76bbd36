/* What the parts of snapshot reset share: the record of the fork point (struct snap) and each part's
 * record / check / put-back calls. One part per kind of state, as docs/design.md's table has them:
 * snapshot.c the lifecycle and exit, snap_memory.c the mappings, snap_fds.c the descriptors,
 * snap_process.c the rest of the process. Every record call returns 0 or a FIFO_RECORD_* code (with
 * h->record_error), every put-back 0 or a negative value (the child is then discarded). */
#ifndef FORKSRV_PREINIT_SNAPSHOT_H
#define FORKSRV_PREINIT_SNAPSHOT_H

#include "../fifo/protocol.h"
#include "server.h"

/* Registers, as setjmp keeps them: callee-saved ones, the stack pointer, where to resume; and the
 * whole floating-point state (x87 and SSE with their control and status words: fxsave's area), so
 * that exception flags an execution raised are not the next one's. snap_save returns 0, and 1 again
 * when snap_resume comes back to it. */
struct snap_ctx {
  unsigned long r[24];
  unsigned char fp[512] __attribute__((aligned(16)));
};

/* Written ranges per PAGEMAP_SCAN call. The kernel allocates a buffer of this many (24 bytes each, at
 * most 512) for every call: above 8 KiB that is a page allocation and free per call, which cost a
 * sixth of each scan. */
#define SNAP_VEC_LEN 256
#define SNAP_STACK_SIZE (64 * 1024)
#define SNAP_PAGE 4096ul
#define SNAP_NSIG 64
#define SNAP_FREED_MAX 256
#define SNAP_NLIMITS 16
#define SNAP_GROUPS 1024
/* The hot set (snap_memory.c): at most this many pages stay writable between put-backs, as many are
 * candidates, and every SNAP_HOT_PRUNE-th put-back protects them all again. Chosen by measurement:
 * docs/benchmarks.md. */
#ifndef SNAP_HOT_MAX
#define SNAP_HOT_MAX 1024
#endif
#ifndef SNAP_HOT_PRUNE
#define SNAP_HOT_PRUNE 32
#endif

enum range_kind {
  UNTRACKED = 0, /* not registered (the vDSO, the store): a boundary of the scan */
  RESTORED = 1,  /* private and writable: written pages are copied back */
  WATCHED = 2,   /* registered, not restorable (read-only, shared): a write discards the child */
  OWN = 3,       /* forksrv's own small pages (the snapshot's, the slot) and the fuzzer's coverage map:
                  * registered only so that they do not split the scan; their writes are neither put
                  * back nor protected again */
  COPIED = 4,    /* private, anonymous and writable, but not registered (MAP_DROPPABLE memory, such as
                  * glibc's getrandom state): copied back whole after every execution; a boundary of
                  * the scan */
};
struct range {
  unsigned long start, end;
  unsigned long store; /* RESTORED, COPIED: offset of its copy in the store */
  int kind;
  int prot;
  int file;  /* backed by a file (the pages it had at the fork point are in the store; the rest, the file's) */
  int lent;   /* RESTORED from the server's memory, not the store (snap_memory.c's lent()) */
  int stack;  /* [stack] */
  int shared; /* MAP_SHARED */
};
/* Pages that had contents (present or swapped out) at the fork point, in address order. */
struct snap_extent {
  unsigned long start, end;
};
/* What the thread's stat line tells, read once at the end of each execution. */
struct proc_stat {
  char comm[16];
  long pgrp, session, threads, nice, rt_priority, policy;
  unsigned long vsize;
  uint64_t blocked, ignored, caught;
};
struct saved_fd {
  struct fsrv_fd_state st; /* its open file description's flags and offset (fds.c) */
  int saved, cloexec;      /* a duplicate of the snapshot's own, and its close-on-exec */
};

/* Everything the snapshot keeps lives here and in its tables, memory no execution writes and no
 * restore touches. The tables are sized by counting the mappings and fds at the fork point, so that
 * no target has more than they hold. */
struct snap {
  struct snap_ctx ctx;
  int pid, uffd, pagemap, cwd, req, rep, fds, stat, peak;
  /* How the child tells the end of an input and learns of the next: through the driver's FIFOs
   * itself (req, rep: forksrv's protocol), or parked, through the server's eventfds (req: go_fd,
   * rep: loop_fd; AFL++'s protocol, whose peer only the server talks to). */
  int parked;
  int tell_late; /* parked on one CPU (persist.c's one_cpu): "done" goes with "ready", after the put-back */
  uint64_t done;  /* that "done" word meanwhile, or 0 */
  long fuzzer_shm; /* the server's fuzzer_shm: a mapping of it is the fuzzer's, not the target's */
  int server;             /* the parent to read pristine pages from (lent()), or 0 */
  unsigned record_error;  /* with a FIFO_RECORD_* code: the errno that caused it, or 0 */
  unsigned nlend;         /* pages to read from it, in lend[] */
  unsigned long run_start, run_end; /* pages to write-protect again, pending (snap_memory.c's run()) */
  /* The hot set (snap_memory.c): pages left writable, and candidates (written, then protected), in
   * address order; [now] as the last put-back left them, [!now] as this one makes them. */
  unsigned long hot[2][SNAP_HOT_MAX], cand[2][SNAP_HOT_MAX];
  unsigned nhot[2], ncand[2], now;
  unsigned hot_at, cand_at, hot_seen; /* cursors: into the last tables (pass 0), this one's (pass 1) */
  unsigned long hot_last;             /* the page last decided, and how (hot_decide()) */
  int hot_last_was;
  int hot_skip;                       /* pages put back outside a scan (restore_freed()): never hot */
  unsigned puts;          /* put-backs so far, for pruning the hot set */
  int hot_ok;             /* whether this put-back may leave pages writable */
  unsigned long nopen;    /* fds open at the snapshot, forksrv's own included */
  unsigned touched;       /* enum fsrv_touched: what libc's calls changed since the last put-back */
  int blocked_all; /* every signal blocked for the put-back: the target has handlers */
  unsigned nfreed;        /* ranges an madvise dropped since, in freed[] (more: the child ends) */
  unsigned long freed[SNAP_FREED_MAX][2];
  unsigned long vm_size;  /* bytes mapped, as /proc/self/stat says, when the mappings were last checked */
  /* The tables: ranges (as /proc/self/maps had them once registered), mappings the kernel would not
   * register, the target's fds and the snapshot's own. */
  struct range *r;
  unsigned nranges, max_ranges, nshared, ncopied;
  unsigned long (*unregistered)[2];
  unsigned nunregistered;
  struct saved_fd *fd;
  unsigned nfds, max_fds;
  struct snap_extent *present;
  unsigned long npresent, max_present;
  int own_lo, own_hi;     /* the snapshot's own fds are in [own_lo, own_hi], and only they (own_fd()) */
  int *own;
  unsigned nown, max_own;
  unsigned long tables_start, tables_end;
  unsigned long brk, stack_lo, store_size, top, high;
  unsigned long stored; /* bytes copied into the store: memory a fresh fork would not hold */
  unsigned long self_start, self_end, data_start, data_end, slot;
  unsigned char *data;
  struct sys_sigaction act[SNAP_NSIG + 1];
  uint64_t mask;
  struct proc_stat at_snapshot, at_end; /* /proc/self/stat at the snapshot and when an execution ended */
  long ids[6];
  long seccomp, no_new_privs;
  /* What snap_process.c compares at the put-back beyond the stat line and the ids. */
  long ioprio, ngroups, fsuid, fsgid, personality, affinity;
  uint32_t caps[6];
  uint32_t groups[SNAP_GROUPS];
  struct rlimit64 limits[SNAP_NLIMITS];
  long prctl[16];
  unsigned char cpus[128];
  unsigned long altstack[3];
  unsigned umask;
  struct sys_page_region vec[SNAP_VEC_LEN];
  struct sys_iovec lend[SNAP_VEC_LEN];
  char line[8192];
  unsigned char stack[SNAP_STACK_SIZE] __attribute__((aligned(16)));
};

/* A record call that failed: the code, with errno err kept for the driver's line. */
static inline unsigned snap_failed(struct snap *h, unsigned code, long err) {
  h->record_error = err < 0 ? (unsigned)-err : 0;
  return code;
}

/* snap_memory.c: every mapping registered and its pages with contents protected, the store made and
 * filled; and put back. */
FSRV_HIDDEN long snap_count_maps(struct snap *h);
FSRV_HIDDEN long snap_map_high(struct snap *h, unsigned long size, int flags);
FSRV_HIDDEN unsigned snap_memory_record(struct snap *h, const struct fsrv *s);
FSRV_HIDDEN long snap_memory_restore(struct snap *h, int retried);
FSRV_HIDDEN int snap_memory_shared_changed(struct snap *h);

/* snap_fds.c: the snapshot's own fds (moved out of the target's reach), the target's, put back. */
FSRV_HIDDEN unsigned snap_fds_place(struct snap *h, unsigned long nfds);
FSRV_HIDDEN int snap_own_fd(struct snap *h, long fd);
FSRV_HIDDEN void snap_fds_placed(struct snap *h);
FSRV_HIDDEN unsigned snap_fds_record(struct snap *h);
FSRV_HIDDEN long snap_fds_restore(struct snap *h);
FSRV_HIDDEN unsigned long snap_open_count(struct snap *h);

/* snap_process.c: the thread's stat line, identity, signals, timers, umask, cwd. */
FSRV_HIDDEN long snap_read_stat(struct snap *h, struct proc_stat *ps);
FSRV_HIDDEN unsigned snap_process_record(struct snap *h);
FSRV_HIDDEN unsigned snap_process_must_end(struct snap *h);
FSRV_HIDDEN long snap_process_restore(struct snap *h);

#endif
