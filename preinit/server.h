/* Internal interface of the injected server. Everything here is hidden: libforksrv.so exports no
 * symbol, and libforksrv.a adds no name that could clash with the target's. Functions return -errno
 * or a non-negative value. Everything said to people goes through say.c (stderr); what the driver
 * acts on goes only through fifo/protocol.h's messages. */
#ifndef FORKSRV_PREINIT_SERVER_H
#define FORKSRV_PREINIT_SERVER_H

#include "sys.h"

#define FSRV_HIDDEN __attribute__((visibility("hidden")))

/* Longest FIFO path the server accepts: the kernel's PATH_MAX, terminator included. */
#define FSRV_PATH_MAX 4096

/* --- environment (env.c) --- */
struct fsrv_env_var {
  const char *name;
  char value[FSRV_PATH_MAX];
  int found;
  int too_long;
};

/* A streaming parser for /proc/self/environ: fed chunks of any size, it keeps no more than the
 * values of the few variables it looks for, so an environment of any size works. */
struct fsrv_env_parser {
  struct fsrv_env_var *vars;
  unsigned nvars;     /* at most 32 */
  unsigned pos;       /* bytes of the current entry's name seen so far */
  uint32_t candidates; /* variables whose name still matches the current entry */
  int copying;        /* index of the variable whose value is being copied, -1 none, -2 skip */
  unsigned vlen;
};

FSRV_HIDDEN void fsrv_env_init(struct fsrv_env_parser *p, struct fsrv_env_var *vars, unsigned nvars);
FSRV_HIDDEN void fsrv_env_feed(struct fsrv_env_parser *p, const char *buf, size_t n);
FSRV_HIDDEN void fsrv_env_finish(struct fsrv_env_parser *p);
FSRV_HIDDEN long fsrv_env_read(struct fsrv_env_var *vars, unsigned nvars);
FSRV_HIDDEN long fsrv_env_scrub(char **envp, struct fsrv_env_var *vars, unsigned nvars, int spoil);
FSRV_HIDDEN const char *fsrv_env_entry(char **envp, const char *name);
FSRV_HIDDEN int fsrv_env_spoiled(const char *entry, const char *name);
struct fsrv_auxv {
  long secure;                /* AT_SECURE, or -1 if absent */
  unsigned long phdr, phnum;  /* the executable's program headers (AT_PHDR, AT_PHNUM) */
  unsigned long vdso;         /* the kernel's vDSO (AT_SYSINFO_EHDR) */
};
FSRV_HIDDEN long fsrv_auxv_read(struct fsrv_auxv *out);
FSRV_HIDDEN long fsrv_at_secure(void);
/* Calls each(ctx, name) for every entry of dir whose name does not start with a dot. 0 or -errno. */
FSRV_HIDDEN long fsrv_each_entry(const char *dir, void (*each)(void *ctx, const char *name), void *ctx);
/* The same over a directory open at fd, from its start: a listing read again and again keeps its fd. */
FSRV_HIDDEN long fsrv_each_entry_fd(int fd, void (*each)(void *ctx, const char *name), void *ctx);
FSRV_HIDDEN long fsrv_count_entries(const char *dir); /* its entries (no dot-files), or -errno */
FSRV_HIDDEN long fsrv_count_threads(void);
FSRV_HIDDEN long fsrv_read_file(const char *path, void (*consume)(void *ctx, const char *buf, size_t n), void *ctx);

/* --- libc's functions, found without libc (elf.c) --- */
FSRV_HIDDEN void *fsrv_next_symbol(const char *name);
FSRV_HIDDEN void *fsrv_next_object(const char *name); /* a variable, e.g. libc's stdin */
FSRV_HIDDEN int fsrv_binds_here(const char *name);
/* A variable the executable itself exports (AFL++'s instrumentation exports its own), or NULL. */
FSRV_HIDDEN void *fsrv_program_object(const char *name);
FSRV_HIDDEN void *fsrv_global_object(const char *name);
/* Whether the executable calls `name` and every one of its references to it is already bound to fn
 * (a lazily bound one, still pointing at the loader, is not). */
FSRV_HIDDEN int fsrv_program_calls(const char *name, const void *fn);
/* The executable's own initialisers, which glibc's __libc_start_main runs (DT_INIT, then each
 * DT_INIT_ARRAY entry) when a program built against glibc 2.34 or later hands it no init function;
 * and whether the executable names auditors of its own. */
typedef void (*fsrv_init_fn)(int, char **, char **);
struct fsrv_inits {
  fsrv_init_fn init;
  const fsrv_init_fn *array;
  unsigned long n;
  int audited;
};
FSRV_HIDDEN long fsrv_program_inits(struct fsrv_inits *out);
/* A function of the kernel's vDSO mapped at base (x86_64's has a GNU hash table; without one, 0). */
FSRV_HIDDEN void *fsrv_vdso_symbol(unsigned long base, const char *name);

/* --- why the server did not start, and the line that says so (say.c) --- */
struct fsrv_why {
  unsigned cause;   /* enum fifo_cause */
  const char *call; /* FIFO_CAUSE_SYSCALL: the call that failed ("fstat"), else NULL */
};
/* For people only, as everything said on stderr: the driver learns the cause from a notice. */
FSRV_HIDDEN void fsrv_say(int enabled, const struct fsrv_why *why, const char *object, long err);
/* One line on stderr, for people: the parts (NULL-terminated) and a newline. */
FSRV_HIDDEN void fsrv_say_line(const char *const *parts);
/* Text without libc: v in decimal, at the end of buf (returned); whether two strings are equal. */
FSRV_HIDDEN const char *fsrv_decimal(unsigned long v, char buf[24]);
FSRV_HIDDEN int fsrv_streq(const char *a, const char *b);

/* --- FIFOs (fifo_open.c) --- */
FSRV_HIDDEN long fsrv_open_fifo(const char *path, int flags, struct fsrv_why *why);
/* Whether two fds are one FIFO; whether a writer holds fd's FIFO (a byte read meanwhile: *first). */
FSRV_HIDDEN int fsrv_same_fifo(int a, int b);
FSRV_HIDDEN int fsrv_fifo_has_writer(int fd, int *first);
/* The server's fds live at FSRV_HIGH_FD and above, so that the target's own are numbered as they
 * would be without forksrv (its first open still gets 3). fsrv_move_up moves fd to the lowest free
 * number at or above min, close-on-exec, and returns it; where it cannot, fd stays where it is. */
#define FSRV_HIGH_FD 1000
FSRV_HIDDEN int fsrv_move_up(int fd, int min);
/* "/proc/<pid>/fd/<fd>", or "/proc/self/fd/<fd>" for pid 0. */
FSRV_HIDDEN void fsrv_proc_fd_path(int pid, int fd, char out[48]);

/* --- persistent mode (persist.c) --- */
/* What a persistent child of the native protocol and the server share (one MAP_SHARED page): the
 * child reads requests and writes results itself, and records here which input it runs and since
 * when, so that the server can enforce that input's timeout and report its end. The state and the
 * seq change together in one word, so a compare-and-swap settles who reports an input: the child
 * (done) or the server (killed at the deadline). */
enum fsrv_slot_state {
  FSRV_RUNNING = 1,   /* on input seq */
  FSRV_REPORTING = 2, /* done with seq; its result is being written */
  FSRV_READING = 3,   /* seq reported; waiting for the next request */
  FSRV_KILLED = 4,    /* the server took seq at its deadline */
  FSRV_GONE = 5,      /* the driver hung up or sent garbage */
};
struct fsrv_slot {
  uint64_t word; /* seq << 32 | state */
  uint64_t start_us;
  uint32_t timeout_ms;
  /* A snapshot child could not record its state (FIFO_RECORD_*, and the errno): the next children
   * are plain forks, and the driver is told once. */
  uint32_t record_failure;
  uint32_t record_error;
  /* Why a snapshot child was discarded after its input (FIFO_DISCARD_*): told with the next result. */
  uint32_t discard;
  /* The child's CPU time when its input began, and the memory it holds that a fresh fork would not
   * (a snapshot's store): each result says what that input alone used, as wait4 says of a fork. */
  uint64_t utime_base, stime_base, rss_extra_kb;
  uint64_t peak_kb, last_peak_kb; /* the peak the last report read, and the one before */
  /* Parking: a snapshot child's "done" word (FSRV_PARK_DONE + exit code), stored before its put-back
   * whenever it is told: the outcome stands if the child dies during the put-back. The server clears it. */
  uint64_t park_done;
};
#define FSRV_SLOT_WORD(seq, state) ((uint64_t)(seq) << 32 | (state))
#define FSRV_SLOT_SEQ(word) ((uint32_t)((word) >> 32))
#define FSRV_SLOT_STATE(word) ((uint32_t)(word))

/* The words a parking child writes on loop_fd: its input is done (a snapshot child adds its exit
 * code, so that the outcome is the code its exit gave), and a snapshot child is put back and waits
 * for go_fd. An eventfd adds what is written to it, so one read may hold both. */
#define FSRV_PARK_DONE 1ull
#define FSRV_PARK_READY (1ull << 32)
#define FSRV_PARK_DONE_MASK 0xffffffffull

/* What the server keeps for persistent children, by mechanism: parking (AFL++'s protocol) or direct
 * (forksrv's own). */
struct fsrv_persist {
  int loop_fd; /* parking: an eventfd a child writes when its input is done, or -1 */
  int go_fd;   /* parking: an eventfd the parked child blocks on until the server sends the next input */
  int went;    /* parking: this execution's child was a parked one, sent on with go_fd */
  /* parking: the server may run on one CPU only (afl-fuzz binds itself and its children to one), so
   * nothing overlaps the put-back: a snapshot child says "done" only after it, with "ready". */
  int one_cpu;
  struct fsrv_slot *slot; /* direct: the page shared with the children, or 0 */
};

/* --- the fds open at the fork point, as a fresh start has them (fds.c) --- */
struct fsrv_fd_state {
  int fd, flags; /* status flags (F_GETFL) */
  long off;      /* a regular file's offset, fds 3 and up; else -1 */
};
FSRV_HIDDEN long fsrv_fd_state_get(int fd, struct fsrv_fd_state *st);
/* An entry of /proc/self/fd, as the fd it names. */
FSRV_HIDDEN long fsrv_fd_named(const char *name);
FSRV_HIDDEN void fsrv_fd_state_put(const struct fsrv_fd_state *st);
struct fsrv;
FSRV_HIDDEN void fsrv_fds_record(struct fsrv *s);
FSRV_HIDDEN void fsrv_fds_restore(const struct fsrv *s);

/* --- one execution (run.c) --- */
#define FSRV_KEEP_MAX 64
struct fsrv {
  int req;          /* requests in */
  int rep;          /* results out */
  int pid;          /* the server's own pid */
  int *tid_slot;    /* libc's copy of the thread id, refreshed by the kernel in each child */
  void *robust_head;
  size_t robust_len;
  int restore_mask; /* whether the child must restore old_mask */
  uint64_t old_mask;
  unsigned start;   /* where in the target's start-up the server took over (fifo/protocol.h) */
  int chld_fd;      /* a signalfd for SIGCHLD, blocked in the server: readable when a child ended */
  struct fsrv_persist persist; /* persist.c's */
  /* Threads ran at the fork point: SIGCHLD may go to any of them, so each child is watched through a
   * pidfd of its own instead (child_fd), and waits look at the server thread's children only. */
  long threads;
  int child_fd;     /* the current child's pidfd, or -1 */
  /* The target's SIGCHLD disposition, when it was one (SIG_IGN, SA_NOCLDWAIT) under which the kernel
   * reaps children itself: the server sets the default, and each child gets the target's back. */
  int restore_chld;
  struct sys_sigaction old_chld;
  /* The processes the target started before the fork point (its children and theirs): the sweep
   * after each execution leaves them alone. Unreaped children's pids cannot be recycled; a kept pid
   * is forgotten when the server reaps it. */
  int keep[FSRV_KEEP_MAX];
  unsigned nkeep;
  /* Told in the hello (fifo/protocol.h): FIFO_HELLO_* flags, and for --start input the call that
   * started the server and the regular files open at the fork point. */
  uint32_t hello_flags;
  const char *call;
  uint64_t shared_fds;
  struct fsrv_fd_state *fds; /* the target's fds at the fork point (fds.c), set back after each execution */
  unsigned nfds;
  int snapshot;        /* --reset snapshot: each fresh child records its state and is put back */
  int snapshot_child;  /* the current child records one */
  int plain_next;      /* the next child must not: it runs again an input a snapshot child may have
                        * ended falsely (FIFO_RETRY) */
  /* AFL++'s coverage map (its System V shm id), or -1: the fuzzer's channel, not the target's state,
   * so a snapshot child's writes to it are neither put back nor a reason to discard it. */
  long fuzzer_shm;
  int reset_snapshot;  /* FORKSRV_RESET=snapshot was asked for (start.c reads the environment) */
};

struct fsrv_exec {
  int status; /* raw wait status */
  long wait_error;  /* 0, or -errno of a wait that failed (ECHILD: something else reaped the child) */
  int timed_out;
  int stopped;      /* a persistent child finished an input and parked itself; it lives on */
  uint64_t done;    /* what a parking child wrote on loop_fd (FSRV_PARK_*), 0 if nothing */
  uint64_t wall_us;
  struct rusage ru;
};

/* all_signals: block every signal that can be, not only SIGPIPE and SIGCHLD (forksrv's own driver
 * stops its server by closing the FIFOs or with SIGKILL; other peers may stop theirs with SIGTERM). */
FSRV_HIDDEN long fsrv_setup(struct fsrv *s, int req, int rep, unsigned start, int all_signals);
FSRV_HIDDEN long fsrv_fork(struct fsrv *s);
FSRV_HIDDEN uint64_t fsrv_now_us(void);
/* The server of this process, as its children see it (forksrv_loop needs its loop_fd). */
FSRV_HIDDEN extern struct fsrv *fsrv_current;
/* Waits for the child to end (or, persistent, to stop after its input), enforcing timeout_ms (0: none)
 * and watching for the driver's hang-up. started_us 0: no wall time wanted (AFL++'s and Centipede's
 * protocols carry none), and no clock read for it. */
FSRV_HIDDEN void fsrv_await(struct fsrv *s, int pid, uint32_t timeout_ms, uint64_t started_us,
                            struct fsrv_exec *ex);
/* For persist.c: every leftover descendant killed and reaped; a child killed; the fd readable when
 * the child ends; whether it ended (then reaped into ex). */
FSRV_HIDDEN void fsrv_sweep(struct fsrv *s);
FSRV_HIDDEN void fsrv_kill_child(int pid);
FSRV_HIDDEN int fsrv_child_end_fd(const struct fsrv *s);
FSRV_HIDDEN int fsrv_ended(struct fsrv *s, int pid, struct fsrv_exec *ex);
FSRV_HIDDEN __attribute__((noreturn)) void fsrv_peer_gone(struct fsrv *s, int pid);
/* Reaps the server's child pid (blocking); its pidfd, if any, is closed. 0, or -errno of the wait. */
FSRV_HIDDEN long fsrv_reap(struct fsrv *s, int pid, int *status, struct rusage *ru);
FSRV_HIDDEN long fsrv_read_full(int fd, void *buf, size_t n);
static inline uint64_t fsrv_tv_us(const struct __kernel_old_timeval *tv) {
  return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}
FSRV_HIDDEN long fsrv_write_full(int fd, const void *buf, size_t n);

/* --- protocol loops: each returns only in a freshly forked child --- */
FSRV_HIDDEN void fsrv_native_loop(struct fsrv *s, int first);
FSRV_HIDDEN void fsrv_centipede_loop(struct fsrv *s, int ack, int first);

/* --- persistent mode (persist.c): set-up, and the server's side --- */
/* Parking's eventfds, for a protocol whose persistent and snapshot children park (AFL++'s). Without
 * them, forksrv_loop() runs one input per child. */
FSRV_HIDDEN void fsrv_persist_setup(struct fsrv *s);
/* The child for the next input: the parked one (live), sent on, or a fresh fork (live 0). */
FSRV_HIDDEN long fsrv_next_child(struct fsrv *s, int live);
/* After an execution: a go word its child did not take is taken back. */
FSRV_HIDDEN void fsrv_drop_unused_go(struct fsrv *s);
/* The page shared with the children: forksrv's protocol's direct children record in it which input
 * they run (without it, they run one input each); AFL++'s snapshot children, what they recorded or
 * discarded. 0, or -errno. */
FSRV_HIDDEN long fsrv_persist_slot(struct fsrv *s);
/* Whether the child sent on wrote on loop_fd (or the peer left) already, without waiting or reading.
 * Not whether it ended: a SIGCHLD may be another process's (one the server reaps as subreaper). */
FSRV_HIDDEN int fsrv_parked_spoke(struct fsrv *s);
/* A parked snapshot child that is being put back: 1 once it waits for go_fd, 0 if it ended instead
 * (reaped; its slot says why). */
FSRV_HIDDEN int fsrv_parked_ready(struct fsrv *s, int pid);
FSRV_HIDDEN void fsrv_slot_begin(struct fsrv_slot *slot, uint32_t seq, uint32_t timeout_ms, uint64_t started_us);
/* fsrv_await for a direct child, which may run many inputs: returns the slot's word at its end,
 * which names the input it ended on. */
FSRV_HIDDEN uint64_t fsrv_await_direct(struct fsrv *s, int pid, struct fsrv_exec *ex);
/* In a direct child, between two inputs: reports the last, reads the next. Returns 1 to go on, 0 to
 * end the process (it then reports its last input by ending). */
FSRV_HIDDEN int fsrv_native_next(struct fsrv *s);
/* A parking child's side (persistent or snapshot): a word to the server on loop_fd; the wait on go_fd
 * for the next input. Each 1 if done, 0 if the server is gone. */
FSRV_HIDDEN int fsrv_park_tell(int loop_fd, uint64_t word);
FSRV_HIDDEN int fsrv_park_wait(int go_fd);
/* In a persistent child between two inputs, by whichever mechanism its protocol chose (direct,
 * parking, or none: one input per child): 1 to run the next input, 0 to end. */
FSRV_HIDDEN int fsrv_persist_next(struct fsrv *s);
/* Its parts, for snapshot.c too: the FIFOs opened again in the child; input done with status
 * (0 if the driver is gone); the next request read and begun (0 if none). */
FSRV_HIDDEN void fsrv_direct_channel(struct fsrv *s, int *req, int *rep);
FSRV_HIDDEN int fsrv_direct_report(struct fsrv *s, int rep, int pid, int status);
FSRV_HIDDEN int fsrv_direct_read(struct fsrv *s, int req);
/* After a direct child's report: its peak memory counted afresh for the next input (unless the peak
 * the report read is the one before it read), through fd, an open /proc/self/clear_refs (opened,
 * moved up, into *fd when it is -1). */
FSRV_HIDDEN void fsrv_direct_peak_reset(int *fd);

/* --- snapshot reset (snapshot.c) --- */
/* Before the first fork: 0 if snapshot reset can work here, else the FIFO_HELLO_SNAPSHOT_NO_* why. */
FSRV_HIDDEN unsigned fsrv_snapshot_probe(void);
/* The exit handler that ends an execution, registered once; as early as possible is best. */
FSRV_HIDDEN void fsrv_snapshot_hook_exit(void);
/* In a fresh child: records the state to come back to (if it cannot, the child runs one input).
 * Returns in the child each time it was put back, for the next input. */
FSRV_HIDDEN void fsrv_snapshot_take(struct fsrv *s);
/* Whether this process is a snapshot child; the end of its execution with exit status code (stdio
 * flushed first if flush). Returns only when the child cannot be put back: it must then end as the
 * fork path would. */
FSRV_HIDDEN int fsrv_snapshot_child(void);
FSRV_HIDDEN void fsrv_snapshot_end(int code, int flush);
/* What a call of libc's touched (snap_calls.c, in libforksrv.so only): the put-back compares it with
 * the snapshot, and puts it back or ends the child. */
enum fsrv_touched {
  FSRV_TOUCHED_MAPS = 1,        /* mprotect: every mapping is checked, not only the count of pages */
  FSRV_TOUCHED_LIMITS = 2,      /* resource limits */
  FSRV_TOUCHED_PRCTL = 4,       /* prctl's attributes */
  FSRV_TOUCHED_AFFINITY = 8,    /* the CPUs it may run on */
  FSRV_TOUCHED_IDENTITY = 16,   /* supplementary groups, fsuid and fsgid, capabilities */
  FSRV_TOUCHED_PERSONALITY = 32,
  FSRV_TOUCHED_MLOCK = 64,      /* locked memory (a fork's child starts with none) */
  FSRV_TOUCHED_TIMERS = 128,    /* POSIX timers (a fork's child starts with none) */
  FSRV_TOUCHED_SEMUNDO = 256,   /* System V semaphore adjustments, applied when a process ends */
  FSRV_TOUCHED_FOREVER = 512,   /* what cannot be undone: the child ends */
  FSRV_TOUCHED_ALL = 1023,
};
FSRV_HIDDEN void fsrv_snapshot_touched(unsigned touched);
/* MADV_FREE over [addr, addr + len): those pages are dropped at the put-back, and get their contents. */
FSRV_HIDDEN void fsrv_snapshot_freed(unsigned long addr, unsigned long len);
/* Whether the library interposes those calls (libforksrv.so), or the put-back must compare all. */
FSRV_HIDDEN extern const int fsrv_sees_calls;
FSRV_HIDDEN void fsrv_calls_resolve(void);
/* What the program's calls may change unseen: the state of each interposed call that another
 * definition before ours takes (enum fsrv_touched). */
FSRV_HIDDEN unsigned fsrv_calls_unseen(void);
/* The same, for the put-back to compare after every execution (set before the first fork). */
FSRV_HIDDEN void fsrv_snapshot_unseen(unsigned touched);
/* Whether the driver asked for snapshot reset (FORKSRV_RESET=snapshot; start.c owns the environment). */
FSRV_HIDDEN int fsrv_reset_snapshot(void);
/* The same, or 1 while the environment has not been read (before the library's constructor). */
FSRV_HIDDEN int fsrv_reset_snapshot_maybe(void);

/* --- start points (start.c, for both libraries; each library's own start file calls in) --- */
/* Whether this process is a child of a server that started. */
FSRV_HIDDEN int fsrv_served(void);
/* Starts the server at start, if that is the start point pending: 1 in each child, 0 if none did. */
FSRV_HIDDEN int fsrv_serve(unsigned start);
/* The earliest start point: the environment is read here. */
FSRV_HIDDEN void fsrv_early(char **envp);
FSRV_HIDDEN unsigned fsrv_pending(void);
/* Whether LD_AUDIT names auditors. */
FSRV_HIDDEN int fsrv_audited(void);
/* The input start point: the input waited for (or NULL), a refusal, the start itself. */
FSRV_HIDDEN const char *fsrv_input_wanted(int *is_stdin);
FSRV_HIDDEN __attribute__((noreturn)) void fsrv_refuse_input(unsigned code, const char *call);
FSRV_HIDDEN int fsrv_serve_input(const char *call, uint64_t shared_fds);
/* From the library's start file (start_preload.c, start_static.c): its earliest start point, what to
 * look up before the first fork, and whether the program will enter through the preload's
 * __libc_start_main. */
FSRV_HIDDEN extern const unsigned fsrv_early_start;
FSRV_HIDDEN void fsrv_resolve_before_forking(void);
FSRV_HIDDEN int fsrv_program_enters_here(void);

/* AFL++'s protocol (afl.c): the fds it hands its targets, and what the environment asks of us. */
#define FSRV_AFL_CTL_FD 198
#define FSRV_AFL_ST_FD 199
struct fsrv_afl_env {
  const char *shm_id;      /* __AFL_SHM_ID: the coverage map, or NULL */
  const char *map_size;    /* AFL_MAP_SIZE, or NULL */
  int outcome_map;         /* FORKSRV_AFL_MAP=outcome */
  /* An AFL++-instrumented program's last edge number (its __afl_final_loc), or NULL: its map size,
   * as AFL++'s own server tells it. */
  const uint32_t *final_loc;
  int instrumented;        /* a program built by afl-cc, whose fork server forksrv's replaces */
};
FSRV_HIDDEN int fsrv_afl_present(void);
FSRV_HIDDEN void fsrv_afl_loop(struct fsrv *s, const struct fsrv_afl_env *env);
FSRV_HIDDEN int fsrv_afl_oneshot_wanted(const struct fsrv_afl_env *env);
FSRV_HIDDEN void fsrv_afl_oneshot(struct fsrv *s, const struct fsrv_afl_env *env);

#endif
