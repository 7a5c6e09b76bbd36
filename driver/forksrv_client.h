/* forksrv's C client API: start a target under the fork server, run inputs (one at a time per target,
 * several targets side by side), stop. A fuzzer links libforksrv_client.a and uses these calls; the
 * forksrv CLI is a thin main over them. The result of a run mirrors the server's reply. Calls return 0
 * or -1 with a message in drv_error(); nothing here prints. The library never signals a process it
 * has not itself reaped. */
#ifndef FORKSRV_CLIENT_H
#define FORKSRV_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum drv_start {
  DRV_START_EARLY = 0, /* at the library's constructor (preload) or .preinit_array (static) */
  DRV_START_MAIN = 1,  /* just before main, after every constructor */
  DRV_START_INPUT = 2, /* inside the target's first call that touches its input (libforksrv_input.so,
                          found beside the preload); where that cannot be, at main, or at the entry
                          for a target that ends before it touches its input */
};

struct drv_config {
  char *const *argv;           /* target and arguments; "@@" within an argument becomes the input file's
                                  path, else that file is the target's stdin */
  const char *input_name;      /* the input file's name ("x.c": a compiler dispatches on it), alone in a
                                  private directory; NULL: "input" */
  const char *preload;         /* libforksrv.so; NULL: found beside the running program */
  unsigned timeout_ms;         /* per execution, enforced by the server; 0: none */
  unsigned startup_timeout_ms; /* for the handshake; 0: 5000 */
  int no_server;               /* plain fork+exec per execution: the baseline, same results */
  enum drv_start start;        /* where the server starts, unless the target calls forksrv_start() */
  int show_output;             /* the target's fds 1 and 2 are the caller's own (a terminal stays one),
                                  not /dev/null and a capture, unless captured below */
  int capture_stdout;          /* fd 1 is captured for each execution (drv_stdout_fd) */
  int capture_stderr;          /* fd 2 is captured even with show_output (drv_stderr_fd) */
  int cancel_fd;               /* when readable, a waiting call gives up (e.g. a signalfd); -1: none */
  int lazy_binding;            /* 1: leave symbol binding lazy, to be done again in every child (slower).
                                  0: the server starts with LD_BIND_NOW=1 (removed for the target's
                                  descendants) unless the environment sets LD_BIND_NOW; a target that
                                  cannot start so (a symbol that cannot be bound) starts lazily, with
                                  a warning */
  int reset_snapshot;          /* 1: each child is put back to its fork point after an execution instead
                                  of ending (--reset snapshot), where the kernel and the target allow */
};

enum drv_outcome {
  DRV_EXITED = 1,      /* exit_code holds the code */
  DRV_SIGNALLED = 2,   /* killed by a signal of its own doing (a crash) */
  DRV_TIMED_OUT = 3,   /* killed at the deadline */
  DRV_FORK_FAILED = 4, /* no child ran; error holds the errno */
  DRV_WAIT_FAILED = 6, /* the child (pid) ran, but waiting for it failed: error holds the errno (ECHILD:
                          the target's own code reaped it); no status is known */
};

struct drv_result {
  enum drv_outcome outcome;
  int pid;
  int status; /* raw wait status */
  int exit_code;
  int signal;
  int error;
  uint64_t wall_us;
  uint64_t utime_us;
  uint64_t stime_us;
  uint64_t maxrss_kb;
  /* Bytes cut from the middle of the captured stdout and stderr: each capture keeps the first and
   * the last DRV_CAPTURE_KEEP bytes of an execution, with a line between them saying how much was
   * cut; at most DRV_CAPTURE_MAX bytes in all are worth reading. */
  uint64_t stdout_cut, stderr_cut;
  /* One line for people about this execution's server, or NULL: a snapshot child could not record
   * its state (why), so this input ran as in a fresh fork, and so will every input after it. Valid
   * until the next drv_run. */
  const char *warning;
  /* One line for people, or NULL: snapshot reset discarded its child after this input or the one
   * before, instead of putting it back, and why ("left a thread running"); the input after it got or
   * gets a fresh fork. Each reason is said once per drv_start. Valid until the next drv_run. */
  const char *discarded;
};
#define DRV_CAPTURE_KEEP (1u << 20)
#define DRV_CAPTURE_MAX (2 * DRV_CAPTURE_KEEP + 256)

struct drv;

/* Returns NULL on failure, with one line naming the cause in err. */
struct drv *drv_start(const struct drv_config *cfg, char *err, size_t errlen);
/* Runs one input. -1: the run could not happen (server died, cancelled: errno EINTR); see drv_error. */
int drv_run(struct drv *d, const void *input, size_t len, struct drv_result *res);

/* The same input by plain fork+exec, with the same input file, fds and environment (without the
 * server's): what --verify compares with. With no_server, drv_run is this. */
int drv_run_plain(struct drv *d, const void *input, size_t len, struct drv_result *res);
/* The permission bits and mtime the input file has from the next run on (the user's own file's);
 * default 0644 and the time drv_start made it. */
void drv_input_attrs(struct drv *d, unsigned mode, struct timespec mtime);
/* The input file's path (what "@@" became). */
const char *drv_input_path(const struct drv *d);
/* The target's stderr and stdout from the last run, when captured: fds to read from offset 0 with
 * pread; -1 when not captured. */
int drv_stderr_fd(const struct drv *d);
int drv_stdout_fd(const struct drv *d);
/* The server's pid (0 with no_server), and where in start-up it took over: "entry" (the preload's
 * default), "constructor" (the preload in a program that does not enter through libc's start),
 * "preinit" (libforksrv.a's default), "main", "deferred" (forksrv_start() in the target), "input",
 * or "none" with no_server. */
int drv_server_pid(const struct drv *d);
const char *drv_start_point(const struct drv *d);
/* The target's threads at the fork point, as the server counted them (1: only the forking one; more:
 * each child keeps only that one); 0 with no_server. */
unsigned drv_threads(const struct drv *d);
/* Warnings and notes of the start-up (threads alive at the fork point, a start point that fell back),
 * one per line, or "". */
const char *drv_warnings(const struct drv *d);
/* How the target's symbols are bound: "now" (once, in the server, before the first fork), "lazy" (in
 * every child: lazy_binding), "lazy, LD_BIND_NOW failed" (the target could not start with every
 * symbol bound), "environment" (the caller's LD_BIND_NOW, left alone), or "" with no_server. */
const char *drv_binding(const struct drv *d);
/* How each child is had again: "fork" (the default, or snapshot reset not asked for), "snapshot", or
 * why snapshot reset, asked for, is not available or stopped ("fork: ..."). */
const char *drv_reset(const struct drv *d);
/* With DRV_START_INPUT: which call started the server and how many threads ran ("at the first
 * open() of the input, 1 thread"), or "". */
const char *drv_start_note(const struct drv *d);
const char *drv_error(const struct drv *d);
/* CLOCK_MONOTONIC in microseconds: the clock wall_us is measured on. */
uint64_t drv_now_us(void);
/* Ends the server and its children, removes everything it made, frees d. Returns -1 if the server
 * had to be killed. */
int drv_stop(struct drv *d);

#endif
