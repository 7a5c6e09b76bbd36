/* The forksrv CLI's parts: its options, the input list, and what it reports. main.c ties them to the
 * client API; none of this is part of the library a fuzzer links. */
#ifndef FORKSRV_DRIVER_CLI_H
#define FORKSRV_DRIVER_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include "forksrv_client.h"

#define DRV_MAX_JOBS 1024

struct cli_opts {
  char **inputs; /* -i arguments, in the order given */
  size_t ninputs;
  unsigned long runs;
  unsigned timeout_ms;
  unsigned startup_timeout_ms;
  int json, quiet, verbose, no_server, show_output, lazy_binding, reset_snapshot;
  int reset_auto; /* --reset auto: snapshot reset, held to the direct run on each target's first inputs */
  enum drv_start start;
  int pin;       /* 1: pin to a core (default), 0: --no-pin */
  int cpus[64];  /* --cpu LIST, or none: choose free ones */
  int ncpus;
  unsigned jobs; /* -j N: servers side by side */
  unsigned shard, shards;   /* --shard I/N, or 0 */
  const char *shard_engine; /* --shard auto: the engine they came from */
  const char *junit;     /* --junit FILE */
  unsigned long verify;  /* --verify N: every N-th input also by plain fork+exec, or 0 */
  const char *crashes;
  const char *preload;
  const char *input_name; /* --input-name NAME, or NULL: "input" and the input's extension */
  int by_path;            /* an argument of the target holds '@@' */
  char **target;
};

struct cli_inputs {
  char **paths;
  size_t n, cap;
};

struct cli_tally {
  unsigned long execs, exited, nonzero, crashed, timed_out, fork_failed, errors, verified, mismatches;
  uint64_t started_us;
  /* Children that ran inputs, told apart by pid among the last CLI_RECENT_PIDS (one per job is
   * enough): how many inputs a child ran says which lifecycle the target has (-v). */
  unsigned long children;
#define CLI_RECENT_PIDS 64
  int recent[CLI_RECENT_PIDS];
  unsigned nrecent;
};

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* --verify: where two captures of one input differ, or (size_t)-1 where they say the same (byte for
 * byte, but for what a sanitizer's report carries that differs between any two runs: sanreport.c). */
size_t cli_output_differs(const char *a, size_t alen, const char *b, size_t blen);
/* What names a sanitizer's finding in stderr, pids, addresses and numbers set aside: its SUMMARY line
 * (or its first), and with frames its first stack's top frames too. Where there is no report: with
 * frames, the last line said; else 0, out empty. */
size_t cli_crash_key(const char *s, size_t len, char *out, size_t cap, int frames);
/* The client's configuration the options describe. */
struct drv_config cli_config(const struct cli_opts *o, int cancel_fd);

/* --reset auto: of a target's first inputs, how many were held to the direct run; of those after one
 * that ended normally (whose child could be kept), how many ran in that same child; and whether the
 * target forks from its next input on. */
struct cli_auto {
  unsigned checked, could, kept;
  int last_pid, last_exited, fork_next;
};

/* A job's targets, one per input file name (targets.c). */
#define CLI_MAX_TARGETS 16
#define CLI_MAX_EXT 32
struct cli_targets {
  const struct cli_opts *o;
  struct drv_config cfg;
  struct {
    char name[256];
    struct drv *d;
    unsigned long used;
    struct cli_auto auto_; /* --reset auto's count of this target's inputs */
  } t[CLI_MAX_TARGETS];
  int n;
  unsigned long clock;
};
/* Where base's extension starts, as a target is given it (".c", ".tar.gz"; none: the end). */
const char *cli_extension(const char *base);
/* The input file's name for input (a path, or NULL for the empty input). */
void cli_input_name(const struct cli_opts *o, const char *input, char *out, size_t cap);
/* The target for input, started (warnings said when say) if none runs under its name; NULL with err. */
struct drv *cli_target_for(struct cli_targets *ts, const char *input, int say, char *err, size_t cap);
void cli_targets_stop(struct cli_targets *ts);
/* --reset auto: d's counts, or NULL; and d started again with fork instead of snapshot reset (NULL
 * with err set). */
struct cli_auto *cli_target_auto(struct cli_targets *ts, const struct drv *d);
struct drv *cli_target_fork(struct cli_targets *ts, struct drv *d, char *err, size_t cap);

int cli_collect(struct cli_inputs *in, const char *arg);
void cli_shard(struct cli_inputs *in, unsigned i, unsigned n);
const char *cli_shard_auto(unsigned long given, unsigned *shard, unsigned *shards, const char **engine);
/* mode and mtime: the file's, for the target's own copy of it. */
int cli_read_input(const char *path, char **buf, size_t *len, unsigned *mode, struct timespec *mtime);
void cli_free_inputs(struct cli_inputs *in);

/* plain: the same input's result by plain fork+exec (--verify), or NULL. */
/* output_diff: with plain, how the two runs' stdout or stderr differ, or NULL. */
void cli_report(const struct cli_opts *o, struct cli_tally *t, const char *input, unsigned long run,
                const struct drv_result *r, const struct drv_result *plain, const char *output_diff);
const char *cli_outcome_text(const struct drv_result *r, char *buf, size_t cap);
int cli_same_outcome(const struct drv_result *a, const struct drv_result *b);
void cli_report_error(const struct cli_opts *o, struct cli_tally *t, const char *input, const char *why);
/* --crashes (crashes.c): DIR checked and opened once, before any execution; -1 after saying why. */
int cli_crashes_open(const char *dir);
/* Once per input: a new crash kept (the input, its stderr, .repro and .inputs), or the input added to
 * the .inputs of the kept one it matches; -1 after saying why. */
int cli_save_crash(const struct cli_opts *o, const char *input, const void *data, size_t len, int stderr_fd,
                   const struct drv_result *r);
/* --show-output with a capture: what the execution wrote there, passed on to our own fd. */
int cli_copy_capture(int capture_fd, int to_fd, const char *to_name);
char *cli_stderr_tail(int stderr_fd, size_t cap, size_t *len);
void cli_summary(const struct cli_opts *o, const struct cli_tally *t);

/* jobs.c: starts the targets of o->jobs jobs, runs every input and stops them. 0, -1 when start-up
 * or a write failed (said), or the signal that stopped the run. */
int cli_run(const struct cli_opts *o, const struct cli_inputs *in, struct cli_tally *t, int sigfd);
/* Whether stdout took everything so far; said once if not. */
int cli_stdout_ok(void);
const char *cli_signame(int sig);

/* Text into reports (text.c): the length of the UTF-8 sequence at p, strictly by the standard (0 when
 * none), and writers for JSON strings and XML text that replace what is not valid there with U+FFFD
 * and return how many they replaced. */
size_t cli_utf8_len(const unsigned char *p, size_t n, unsigned *cp);
int cli_utf8_valid(const char *s, size_t n);
size_t cli_json_text(FILE *f, const char *s, size_t n);
/* attr: for an attribute's value, where newlines and tabs must be references to survive. */
size_t cli_xml_text(FILE *f, const char *s, size_t n, int attr);

/* forksrv check (check.c) */
int cli_check(const struct cli_opts *o);
/* check -i CORPUS: every start point and reset mode on a sample, held to the direct run and timed
 * (check_modes.c); 0 with the fastest printed, 1 when none matched, 2 on an error. */
int cli_check_modes(const struct cli_opts *o);

/* --junit (junit.c) */
int cli_junit_open(void);
void cli_junit_case(const struct cli_opts *o, const char *input, unsigned long run, const struct drv_result *r,
                    const struct drv_result *plain, const char *output_diff, const char *stderr_text,
                    size_t stderr_len);
void cli_junit_error(const struct cli_opts *o, const char *input, const char *why);
int cli_junit_write(const struct cli_opts *o, double secs);

/* the progress line on a terminal (progress.c) */
void cli_progress_start(const struct cli_opts *o, unsigned long executions);
void cli_progress(const struct cli_tally *t);
void cli_progress_clear(void);

#endif
