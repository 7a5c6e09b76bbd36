/* The forksrv wire protocol: every message between driver and server, and the only place that knows
 * their byte layouts. Messages are fixed-size, little-endian, and far below PIPE_BUF, so each one is
 * written and read whole by a single call. Encoders and decoders are static inline and need no libc:
 * the injected server includes this header too. Decoders check everything a peer could get wrong. */
#ifndef FORKSRV_FIFO_PROTOCOL_H
#define FORKSRV_FIFO_PROTOCOL_H

#include <stdint.h>

#define FIFO_PROTOCOL_VERSION 5u

/* Environment variables the driver sets and the server reads (and removes for its descendants). The
 * two FIFOs must be FIFOs of the server's effective uid that group and others cannot write, two
 * different ones, and the request FIFO must be open for writing by the time the server's open of the
 * reply FIFO returns (it opens the request FIFO first); otherwise the target runs without a server. */
#define FIFO_ENV_REQUEST "FORKSRV_FIFO_IN"   /* driver -> server */
#define FIFO_ENV_REPLY "FORKSRV_FIFO_OUT"    /* server -> driver */
#define FIFO_ENV_DEBUG "FORKSRV_DEBUG"       /* "1": say on stderr, for people, why the server did not start */
#define FIFO_ENV_CENTIPEDE_IN "CENTIPEDE_FORK_SERVER_FIFO0"
#define FIFO_ENV_CENTIPEDE_OUT "CENTIPEDE_FORK_SERVER_FIFO1"
#define FIFO_ENV_CENTIPEDE_ACK "FORKSRV_CENTIPEDE_ACK" /* "1": echo the trigger byte after the fork */
#define FIFO_ENV_AFL_MAP "FORKSRV_AFL_MAP"               /* "outcome": outcome bytes in AFL++'s map */
#define FIFO_ENV_START "FORKSRV_START"                   /* a later start point, by fifo_start_name() */
#define FIFO_ENV_INPUT "FORKSRV_INPUT"                   /* the input file's path */
#define FIFO_ENV_INPUT_STDIN "FORKSRV_INPUT_STDIN"       /* "1": that file is also the target's stdin */
/* "1": the driver set LD_BIND_NOW=1 so that the dynamic loader binds every symbol once, in the server,
 * instead of again in every child; the server removes LD_BIND_NOW with its own variables. */
#define FIFO_ENV_BIND_NOW "FORKSRV_BIND_NOW"
/* The pid of the process the driver started, in decimal: only that process (or what it execs) starts
 * a server; a descendant that inherited the variables before the fork point runs as it would. */
#define FIFO_ENV_TARGET_PID "FORKSRV_TARGET_PID"
/* "snapshot": each fresh child records its state at the fork point and is put back to it in place
 * after each execution (--reset snapshot); unset or "fork": a fresh fork for each input. */
#define FIFO_ENV_RESET "FORKSRV_RESET"
/* "1": a plain run by the driver (--no-server, --verify), with no server: the harness main then runs
 * its input as it does under the server (true outcomes, no libFuzzer-style reports). */
#define FIFO_ENV_PLAIN "FORKSRV_PLAIN"

/* The list of forksrv's own variables, for the server (which reads and then removes them) and the
 * driver (which removes any the caller had before it sets its own). */
enum fifo_var {
  FIFO_VAR_REQUEST, FIFO_VAR_REPLY, FIFO_VAR_DEBUG, FIFO_VAR_CENTIPEDE_IN, FIFO_VAR_CENTIPEDE_OUT,
  FIFO_VAR_CENTIPEDE_ACK, FIFO_VAR_AFL_MAP, FIFO_VAR_START, FIFO_VAR_INPUT, FIFO_VAR_INPUT_STDIN,
  FIFO_VAR_BIND_NOW, FIFO_VAR_TARGET_PID, FIFO_VAR_RESET, FIFO_VAR_PLAIN, FIFO_NVARS
};

static inline const char *fifo_var_name(unsigned v) {
  static const char *const names[FIFO_NVARS] = {
      [FIFO_VAR_REQUEST] = FIFO_ENV_REQUEST,         [FIFO_VAR_REPLY] = FIFO_ENV_REPLY,
      [FIFO_VAR_DEBUG] = FIFO_ENV_DEBUG,             [FIFO_VAR_CENTIPEDE_IN] = FIFO_ENV_CENTIPEDE_IN,
      [FIFO_VAR_CENTIPEDE_OUT] = FIFO_ENV_CENTIPEDE_OUT, [FIFO_VAR_CENTIPEDE_ACK] = FIFO_ENV_CENTIPEDE_ACK,
      [FIFO_VAR_AFL_MAP] = FIFO_ENV_AFL_MAP,         [FIFO_VAR_START] = FIFO_ENV_START,
      [FIFO_VAR_INPUT] = FIFO_ENV_INPUT,             [FIFO_VAR_INPUT_STDIN] = FIFO_ENV_INPUT_STDIN,
      [FIFO_VAR_BIND_NOW] = FIFO_ENV_BIND_NOW,       [FIFO_VAR_TARGET_PID] = FIFO_ENV_TARGET_PID,
      [FIFO_VAR_RESET] = FIFO_ENV_RESET,             [FIFO_VAR_PLAIN] = FIFO_ENV_PLAIN,
  };
  return v < FIFO_NVARS ? names[v] : 0;
}

/* What the dynamic loader says when a symbol cannot be bound: with LD_BIND_NOW, at start-up. */
#define FIFO_UNDEFINED_SYMBOL "undefined symbol"

/* The atime (seconds since the epoch) the driver gives the input file before the target starts: a
 * start point later than the entry that finds another knows the input was read before it. */
#define FIFO_UNREAD_ATIME 1

/* The string forksrv.h's forksrv_start() puts into a target: the driver, finding it, asks the server
 * to wait for that call instead of starting early. */
#define FIFO_DEFERRED_SIGNATURE "##FORKSRV_DEFERRED_START##"

#define FIFO_MAGIC_HELLO 0x56525346u   /* "FSRV" */
#define FIFO_MAGIC_REQUEST 0x51525346u /* "FSRQ" */
#define FIFO_MAGIC_RESULT 0x53525346u  /* "FSRS" */
#define FIFO_MAGIC_NOTICE 0x4e525346u  /* "FSRN" */

/* The exchange: the driver numbers its requests 1, 2, 3... and has one in flight at a time. The result
 * for it comes from the server or, in persistent mode, from the child itself, which reads the next
 * request on its own: no third process between the two. So a driver waiting for request seq
 *   - drops a result for an earlier seq (the server's report of a persistent child that died just as
 *     its own result for that input went out: the first one is the outcome);
 *   - answers FIFO_RESEND for seq by sending request seq again (the child that read it died before it
 *     could record that it had), and takes the first result for seq that comes. */

/* Where in the target's start-up the server took over; the driver reports it by name. */
enum fifo_start {
  FIFO_START_CONSTRUCTOR = 1,
  FIFO_START_PREINIT = 2,
  FIFO_START_MAIN = 3,
  FIFO_START_DEFERRED = 4,
  FIFO_START_INPUT = 5, /* inside the target's first call that touches the input (libforksrv_input.so) */
  /* the preload's __libc_start_main: after every library's constructor, before the program's own */
  FIFO_START_ENTRY = 6,
};

/* The start points' names: what the driver reports, and the values of FIFO_ENV_START (which names
 * one of the later ones: main, deferred or input). */
static inline const char *fifo_start_name(uint32_t start) {
  static const char *const names[] = {
      [FIFO_START_CONSTRUCTOR] = "constructor", [FIFO_START_PREINIT] = "preinit", [FIFO_START_MAIN] = "main",
      [FIFO_START_DEFERRED] = "deferred",       [FIFO_START_INPUT] = "input",     [FIFO_START_ENTRY] = "entry",
  };
  return start < sizeof names / sizeof names[0] ? names[start] : 0;
}

/* The start point a name names, or 0. */
static inline uint32_t fifo_start_named(const char *name) {
  for (uint32_t start = FIFO_START_CONSTRUCTOR; start <= FIFO_START_ENTRY; start++) {
    const char *a = fifo_start_name(start), *b = name;
    while (*a && *a == *b) a++, b++;
    if (*a == *b) return start;
  }
  return 0;
}

/* A server that does not start sends a notice instead of its hello. Where it may not start at the
 * start point it was asked for (codes 1-3), the target then exits with FIFO_REFUSED_EXIT and the
 * driver starts it again where the code says. Where it cannot start at all (FIFO_NOTICE_NOT_STARTED,
 * with a cause), the target runs on as it would without forksrv. The server's stderr says the same
 * for people; the driver goes by the notice alone. */
enum fifo_notice_code {
  FIFO_NOTICE_INPUT_THREADS = 1,  /* --start input: threads run at the first touch (fall back to main) */
  FIFO_NOTICE_INPUT_BUFFERED = 2, /* --start input: stdin's stdio buffer holds data (fall back to main) */
  FIFO_NOTICE_READ_EARLY = 3,     /* the input was read before this start point (fall back to entry) */
  FIFO_NOTICE_NOT_STARTED = 4,    /* no server: cause says why, error the errno where one failed */
};
#define FIFO_REFUSED_EXIT 125

/* Why a server did not start. A cause about the request FIFO is sent on the reply FIFO; one about
 * the reply FIFO cannot be sent, and the driver then sees the target run (or end) with no message. */
enum fifo_cause {
  FIFO_CAUSE_OPEN = 1,      /* open of the request FIFO failed: error */
  FIFO_CAUSE_NOT_FIFO = 2,  /* the request FIFO is not a FIFO */
  FIFO_CAUSE_NOT_OURS = 3,  /* ... is not owned by the server's effective uid */
  FIFO_CAUSE_WRITABLE = 4,  /* ... is writable by its group or others */
  FIFO_CAUSE_NO_WRITER = 5, /* ... is open for writing by no process */
  FIFO_CAUSE_TOO_LONG = 6,  /* ... has a path longer than PATH_MAX */
  FIFO_CAUSE_SETUP = 7,     /* the server's set-up failed: error (it needs glibc and Linux 5.3) */
  FIFO_CAUSE_SYSCALL = 8,   /* another call on the request FIFO (fstat, fcntl) failed: error */
  /* Never sent, for want of a channel; coded for the server's own words. */
  FIFO_CAUSE_ONE_FIFO = 9,  /* the request and the reply FIFO are one FIFO */
  FIFO_CAUSE_NO_READER = 10, /* the reply FIFO: no reader opened it in time */
};

/* Feature flags in the hello: what this server does for every execution. */
#define FIFO_FEAT_TIMEOUT 0x1u /* enforces the request's timeout itself */
#define FIFO_FEAT_RUSAGE 0x2u  /* results carry wait4's rusage */
#define FIFO_FEAT_SWEEP 0x4u   /* kills and reaps every leftover descendant after each execution */

enum fifo_reason {
  FIFO_EXITED = 1,      /* status holds the exit code */
  FIFO_SIGNALLED = 2,   /* killed by a signal of its own doing */
  FIFO_TIMED_OUT = 3,   /* killed by the server at the deadline; status is the SIGKILL */
  FIFO_FORK_FAILED = 4, /* no child: error holds -errno of the fork */
  FIFO_RESEND = 5,      /* not an outcome: the persistent child that would have read request seq died
                           between inputs, so it may be lost; send it again (status: how that child died) */
  FIFO_WAIT_FAILED = 6, /* the child pid ran, but waiting for it failed: error holds -errno (ECHILD:
                           something else in the target reaped it); no status is known */
  FIFO_EXEC_FAILED = 7, /* from the driver's plain fork+exec helper only: the child pid could not exec
                           the target; error holds -errno */
  FIFO_RETRY = 8,       /* not an outcome: the snapshot child that ran request seq ended in a way the
                           CPU time of its earlier inputs may have decided (SIGXCPU, or a SIGKILL the
                           server did not send, under a CPU time limit, which counts a process's whole
                           life); the server runs the next request in a fresh fork: put the input in
                           place again and send it as a new request (status: how that child ended) */
};

/* Why a --reset snapshot child could not record its state at the fork point: it then ran its input as
 * a forked child does, and every input after it gets a fresh fork. Sent once, in that input's result,
 * with the errno that caused it. */
enum fifo_record_failure {
  FIFO_RECORD_FDS = 1,    /* no room for the snapshot's descriptors (RLIMIT_NOFILE) */
  FIFO_RECORD_MEMORY = 2, /* no memory for its tables or its copy of the target's memory */
  FIFO_RECORD_MAPS = 3,   /* the target's mappings could not be tracked (userfaultfd, PAGEMAP_SCAN) */
  FIFO_RECORD_PROC = 4,   /* what /proc says of the process could not be read */
};

/* Why a --reset snapshot child was discarded after an input instead of put back in place: the input's
 * outcome stands, and the next input gets a fresh fork (which records a snapshot again). Sent in the
 * result of the input it ran, or with the resend the server asks for when the put-back itself failed. */
enum fifo_discard {
  FIFO_DISCARD_THREAD = 1,   /* a thread the execution started still runs */
  FIFO_DISCARD_CHILD = 2,    /* a child it started still runs, or could not be waited for */
  FIFO_DISCARD_IDENTITY = 3, /* its uids, gids, session, process group, seccomp or no_new_privs changed */
  FIFO_DISCARD_SHARED = 4,   /* it wrote shared memory, or mapped a file shared and writable */
  FIFO_DISCARD_CALL = 5,     /* it called what nothing puts back (ptrace, chroot, unshare, setns, a
                                prctl not known to be restorable, ...) */
  FIFO_DISCARD_MEMORY = 6,   /* its memory could not be put back (a mapping of the fork point unmapped,
                                the program break, the snapshot's own memory let go) */
  FIFO_DISCARD_PROCESS = 7,  /* its limits, prctl attributes, CPUs, groups, capabilities, personality
                                or priorities could not be put back */
  FIFO_DISCARD_FDS = 8,      /* a fd of the fork point could not be put back */
  FIFO_DISCARD_PROC = 9,     /* /proc could not tell its state at the end */
};
#define FIFO_DISCARD_MAX 9u

/* Both for people, the same words from the driver and from a server with no driver to tell (AFL++'s
 * protocol): what a snapshot child did that could not be put back, and why none could be recorded. */
static inline const char *fifo_discard_text(uint32_t discard) {
  static const char *const what[] = {
      [FIFO_DISCARD_THREAD] = "left a thread running",
      [FIFO_DISCARD_CHILD] = "left a child process running",
      [FIFO_DISCARD_IDENTITY] = "changed its uids, gids, session, process group or seccomp filter",
      [FIFO_DISCARD_SHARED] = "wrote to shared memory, or mapped a file shared and writable",
      [FIFO_DISCARD_CALL] = "made a call nothing puts back (chroot, unshare, setns, ptrace, an madvise on how memory forks, an unknown prctl)",
      [FIFO_DISCARD_MEMORY] = "changed memory beyond putting back (unmapped a mapping of the fork point that cannot be made anew, or wrote one that was read-only there)",
      [FIFO_DISCARD_PROCESS] = "changed its limits, prctl attributes, CPUs, groups, capabilities or priorities beyond putting back",
      [FIFO_DISCARD_FDS] = "closed a fd of the fork point that could not be opened again",
      [FIFO_DISCARD_PROC] = "ended in a state /proc could not tell",
  };
  return discard < sizeof what / sizeof what[0] && what[discard] ? what[discard] : "ended in a state it could not put back";
}

static inline const char *fifo_record_text(uint32_t failure) {
  static const char *const what[] = {
      [FIFO_RECORD_FDS] = "no room for its fds under the fd limit (RLIMIT_NOFILE)",
      [FIFO_RECORD_MEMORY] = "no memory for its copy of the target's state",
      [FIFO_RECORD_MAPS] = "the target's mappings could not be tracked",
      [FIFO_RECORD_PROC] = "/proc could not tell the target's state",
  };
  return failure < sizeof what / sizeof what[0] && what[failure] ? what[failure] : "unknown cause";
}

/* What the server tells at its start, for the driver to decide from and to report. */
#define FIFO_HELLO_BIND_NOW 0x1u /* LD_BIND_NOW was set: every symbol was bound before the first fork */
/* FORKSRV_RESET=snapshot: snapshot reset is on; or why it is not, and every input gets a fresh fork. */
#define FIFO_HELLO_SNAPSHOT 0x2u
#define FIFO_HELLO_SNAPSHOT_NO_KERNEL 0x4u /* no userfaultfd write-protect (WP_ASYNC) or PAGEMAP_SCAN: Linux < 6.7 */
#define FIFO_HELLO_SNAPSHOT_NO_LIBC 0x8u   /* libc's on_exit and fflush not found (a static or non-glibc target) */
#define FIFO_HELLO_FLAGS 0xfu
/* For people: why snapshot reset, asked for, is off (a FIFO_HELLO_SNAPSHOT_NO_* flag), or NULL. */
static inline const char *fifo_snapshot_off_text(uint32_t flags) {
  if (flags & FIFO_HELLO_SNAPSHOT_NO_LIBC) return "snapshot reset needs a dynamically linked glibc target";
  if (flags & FIFO_HELLO_SNAPSHOT_NO_KERNEL)
    return "snapshot reset needs Linux 6.7's userfaultfd write-protect (WP_ASYNC) and PAGEMAP_SCAN";
  return 0;
}
#define FIFO_CALL_MAX 24         /* a libc function's name, NUL-padded (the longest hooked is 20) */
struct fifo_hello {
  uint32_t version;
  uint32_t features;
  int32_t pid;
  uint32_t start;      /* enum fifo_start: where it took over */
  uint32_t threads;    /* the target's threads at the fork point (1: only the forking one) */
  uint32_t flags;      /* FIFO_HELLO_* */
  uint64_t shared_fds; /* --start input: bit i set: fd 3 + i is a regular file open at the fork point */
  char call[FIFO_CALL_MAX]; /* --start input: the call that touched the input and started it, or "" */
};

struct fifo_notice {
  uint32_t code;  /* enum fifo_notice_code */
  int32_t pid;    /* the target's */
  uint32_t start; /* the start point it was asked for */
  uint32_t cause; /* FIFO_NOTICE_NOT_STARTED: enum fifo_cause; else 0 */
  int32_t error;  /* -errno for the causes that carry one, else 0 */
  char call[FIFO_CALL_MAX]; /* --start input's refusals: the call that touched the input, or "" */
};

struct fifo_request {
  uint32_t seq;
  uint32_t timeout_ms; /* 0: no timeout */
};

struct fifo_result {
  uint32_t seq;
  int32_t pid;
  int32_t status; /* raw wait status */
  uint32_t reason;
  int32_t error;
  uint64_t wall_us;
  uint64_t utime_us;
  uint64_t stime_us;
  uint64_t maxrss_kb;
  uint32_t record_failure; /* enum fifo_record_failure, or 0 */
  int32_t record_error;    /* with it: -errno, or 0 */
  uint32_t discard;        /* enum fifo_discard, or 0 */
};

#define FIFO_HELLO_SIZE 56
#define FIFO_NOTICE_SIZE 56 /* as a hello: the driver reads either as the first message */
#define FIFO_REQUEST_SIZE 16
#define FIFO_RESULT_SIZE 68

static inline void fifo_put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t fifo_get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void fifo_put64(unsigned char *p, uint64_t v) {
  fifo_put32(p, (uint32_t)v);
  fifo_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t fifo_get64(const unsigned char *p) {
  return (uint64_t)fifo_get32(p) | (uint64_t)fifo_get32(p + 4) << 32;
}

static inline void fifo_put_call(unsigned char *p, const char *call) {
  unsigned i = 0;
  for (; call && call[i] && i + 1 < FIFO_CALL_MAX; i++) p[i] = (unsigned char)call[i];
  for (; i < FIFO_CALL_MAX; i++) p[i] = 0;
}

/* A call name as sent: NUL-padded, and only the characters of a C identifier. */
static inline int fifo_get_call(const unsigned char *p, char *call) {
  unsigned i = 0;
  for (; i < FIFO_CALL_MAX && p[i]; i++) {
    unsigned char c = p[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return -1;
    call[i] = (char)c;
  }
  if (i == FIFO_CALL_MAX) return -1;
  for (unsigned k = i; k < FIFO_CALL_MAX; k++) {
    if (p[k]) return -1;
    call[k] = 0;
  }
  return 0;
}

/* hello: magic, version << 16 | features, pid, start, threads, flags, shared_fds (8), call (24) */
static inline void fifo_encode_hello(unsigned char b[FIFO_HELLO_SIZE], const struct fifo_hello *h) {
  fifo_put32(b, FIFO_MAGIC_HELLO);
  fifo_put32(b + 4, h->version << 16 | (h->features & 0xffffu));
  fifo_put32(b + 8, (uint32_t)h->pid);
  fifo_put32(b + 12, h->start);
  fifo_put32(b + 16, h->threads);
  fifo_put32(b + 20, h->flags);
  fifo_put64(b + 24, h->shared_fds);
  fifo_put_call(b + 32, h->call);
}

/* The version of a hello of any version (their first 8 bytes agree), or 0 for bytes that are not a
 * hello at all: a driver names both versions when they differ. */
static inline uint32_t fifo_hello_version(const unsigned char *b, unsigned long n) {
  return n >= 8 && fifo_get32(b) == FIFO_MAGIC_HELLO ? fifo_get32(b + 4) >> 16 : 0;
}

/* Returns 0, or -1 when the bytes are not a hello of this version. */
static inline int fifo_decode_hello(const unsigned char b[FIFO_HELLO_SIZE], struct fifo_hello *h) {
  if (fifo_get32(b) != FIFO_MAGIC_HELLO) return -1;
  h->version = fifo_get32(b + 4) >> 16;
  h->features = fifo_get32(b + 4) & 0xffffu;
  h->pid = (int32_t)fifo_get32(b + 8);
  h->start = fifo_get32(b + 12);
  h->threads = fifo_get32(b + 16);
  h->flags = fifo_get32(b + 20);
  h->shared_fds = fifo_get64(b + 24);
  if (h->version != FIFO_PROTOCOL_VERSION || h->pid <= 0 || !fifo_start_name(h->start) || h->threads == 0 ||
      (h->flags & ~FIFO_HELLO_FLAGS))
    return -1;
  return fifo_get_call(b + 32, h->call);
}

/* notice: magic, code, pid, start, cause, error, reserved (8, zero), call (24) */
static inline void fifo_encode_notice(unsigned char b[FIFO_NOTICE_SIZE], const struct fifo_notice *n) {
  fifo_put32(b, FIFO_MAGIC_NOTICE);
  fifo_put32(b + 4, n->code);
  fifo_put32(b + 8, (uint32_t)n->pid);
  fifo_put32(b + 12, n->start);
  fifo_put32(b + 16, n->cause);
  fifo_put32(b + 20, (uint32_t)n->error);
  fifo_put64(b + 24, 0);
  fifo_put_call(b + 32, n->call);
}

static inline int fifo_decode_notice(const unsigned char b[FIFO_NOTICE_SIZE], struct fifo_notice *n) {
  if (fifo_get32(b) != FIFO_MAGIC_NOTICE || fifo_get64(b + 24) != 0) return -1;
  n->code = fifo_get32(b + 4);
  n->pid = (int32_t)fifo_get32(b + 8);
  n->start = fifo_get32(b + 12);
  n->cause = fifo_get32(b + 16);
  n->error = (int32_t)fifo_get32(b + 20);
  if (n->pid <= 0 || n->code < FIFO_NOTICE_INPUT_THREADS || n->code > FIFO_NOTICE_NOT_STARTED) return -1;
  if ((n->code == FIFO_NOTICE_NOT_STARTED) != (n->cause != 0) || n->cause > FIFO_CAUSE_SYSCALL) return -1;
  if (n->error > 0 || (n->error != 0) != (n->cause == FIFO_CAUSE_OPEN || n->cause == FIFO_CAUSE_SETUP ||
                                           n->cause == FIFO_CAUSE_SYSCALL))
    return -1;
  return fifo_get_call(b + 32, n->call);
}

/* request: magic, seq, timeout_ms, reserved (zero) */
static inline void fifo_encode_request(unsigned char b[FIFO_REQUEST_SIZE], const struct fifo_request *r) {
  fifo_put32(b, FIFO_MAGIC_REQUEST);
  fifo_put32(b + 4, r->seq);
  fifo_put32(b + 8, r->timeout_ms);
  fifo_put32(b + 12, 0);
}

static inline int fifo_decode_request(const unsigned char b[FIFO_REQUEST_SIZE], struct fifo_request *r) {
  if (fifo_get32(b) != FIFO_MAGIC_REQUEST || fifo_get32(b + 12) != 0) return -1;
  r->seq = fifo_get32(b + 4);
  r->timeout_ms = fifo_get32(b + 8);
  return 0;
}

/* result: magic, seq, pid, status, reason, error, wall_us, utime_us, stime_us, maxrss_kb, record_failure,
 * record_error, discard */
static inline void fifo_encode_result(unsigned char b[FIFO_RESULT_SIZE], const struct fifo_result *r) {
  fifo_put32(b, FIFO_MAGIC_RESULT);
  fifo_put32(b + 4, r->seq);
  fifo_put32(b + 8, (uint32_t)r->pid);
  fifo_put32(b + 12, (uint32_t)r->status);
  fifo_put32(b + 16, r->reason);
  fifo_put32(b + 20, (uint32_t)r->error);
  fifo_put64(b + 24, r->wall_us);
  fifo_put64(b + 32, r->utime_us);
  fifo_put64(b + 40, r->stime_us);
  fifo_put64(b + 48, r->maxrss_kb);
  fifo_put32(b + 56, r->record_failure);
  fifo_put32(b + 60, (uint32_t)r->record_error);
  fifo_put32(b + 64, r->discard);
}

/* Returns 0, or -1 for bytes that no server of this version could have sent. */
static inline int fifo_decode_result(const unsigned char b[FIFO_RESULT_SIZE], struct fifo_result *r) {
  if (fifo_get32(b) != FIFO_MAGIC_RESULT) return -1;
  r->seq = fifo_get32(b + 4);
  r->pid = (int32_t)fifo_get32(b + 8);
  r->status = (int32_t)fifo_get32(b + 12);
  r->reason = fifo_get32(b + 16);
  r->error = (int32_t)fifo_get32(b + 20);
  r->wall_us = fifo_get64(b + 24);
  r->utime_us = fifo_get64(b + 32);
  r->stime_us = fifo_get64(b + 40);
  r->maxrss_kb = fifo_get64(b + 48);
  r->record_failure = fifo_get32(b + 56);
  r->record_error = (int32_t)fifo_get32(b + 60);
  r->discard = fifo_get32(b + 64);
  if (r->record_failure > FIFO_RECORD_PROC || r->record_error > 0 || (r->record_error && !r->record_failure)) return -1;
  if (r->discard > FIFO_DISCARD_MAX) return -1;
  switch (r->reason) {
  case FIFO_EXITED:
    return r->pid > 0 && (r->status & 0x7f) == 0 ? 0 : -1;
  case FIFO_SIGNALLED:
  case FIFO_TIMED_OUT:
    return r->pid > 0 && (r->status & 0x7f) != 0 && (r->status & 0x7f) != 0x7f ? 0 : -1;
  case FIFO_FORK_FAILED:
    return r->pid == 0 && r->error < 0 ? 0 : -1;
  case FIFO_WAIT_FAILED:
  case FIFO_EXEC_FAILED:
    return r->pid > 0 && r->error < 0 ? 0 : -1;
  case FIFO_RESEND:
    return r->pid > 0 ? 0 : -1;
  case FIFO_RETRY:
    return r->pid > 0 && (r->status & 0x7f) != 0 && (r->status & 0x7f) != 0x7f ? 0 : -1;
  default:
    return -1;
  }
}

#endif
