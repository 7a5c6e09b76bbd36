/* The harness main's parts (libforksrv_main.a): harness_main.c reads libFuzzer's command line and
 * runs the inputs; harness_report.c says what went wrong the way libFuzzer says it, and writes the
 * artifact. They live in the user's fuzz target, so every shared name starts forksrv_harness_. */
#ifndef FORKSRV_HARNESS_H
#define FORKSRV_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's own exit codes for each end, so that scripts that test them work unchanged. */
#define HARNESS_EXIT_ERROR 77   /* -error_exitcode: a crash, or the target called exit */
#define HARNESS_EXIT_TIMEOUT 70 /* -timeout_exitcode */
#define HARNESS_EXIT_OOM 71

struct forksrv_harness {
  const char *artifact_prefix, *exact_artifact_path;
  int show_unit;    /* print the failing input: inputs from directories, or any with -max_len */
  int artifacts;    /* and write it: inputs from directories, as libFuzzer does */
  int out_fd;       /* where libFuzzer-style lines go: stderr, or a copy of it (-close_fd_mask=2) */
  int error_exitcode, timeout_exitcode;
  long timeout_s, rss_limit_mb;
  /* The input running now, for the handlers: data and size are set before running is (with release
   * order), and running is cleared before data is; running is set around LLVMFuzzerTestOneInput only. */
  const uint8_t *data;
  size_t size;
  int running;
  long started_ms; /* CLOCK_MONOTONIC */
};
extern struct forksrv_harness forksrv_harness;

/* Catches what ends an input (deadly signals nobody else handles, the alarm, exit, a sanitizer's
 * death, RSS over the limit) and reports it as libFuzzer does; from main before the first input. */
void forksrv_harness_catch(void);
/* CLOCK_MONOTONIC in milliseconds. */
long forksrv_harness_now_ms(void);
/* printf-like, to out_fd, with no stdio (usable in a signal handler). */
void forksrv_harness_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
