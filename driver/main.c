/* The forksrv CLI: a thin main over the client API. It reads like its job: parse the options, take
 * SIGINT and SIGTERM synchronously (blocked, then read from a signalfd inside the waits), list the
 * inputs, start the target, run every input, stop, report. Exit status: 0 clean, 1 a crash or a
 * timeout, 2 a usage, start-up or input error, 128+N when stopped by signal N. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../fifo/protocol.h"
#include "cli.h"
#include "pin.h"

#ifndef FORKSRV_VERSION
#define FORKSRV_VERSION "0.0.0"
#define FORKSRV_SONAME "libforksrv.so"
#endif

static const char usage[] =
    "usage: forksrv [OPTIONS] -- TARGET [ARGS...]\n"
    "       forksrv check [OPTIONS] -- TARGET [ARGS...]\n"
    "Runs TARGET once per input, each execution a fresh fork() of a target that was started once.\n"
    "'check' starts it once each way and says whether and how the fork server serves it.\n"
    "\n"
    "  -i, --input PATH          file or directory (repeatable); each file is one execution, in sorted\n"
    "                            order; PATH may be a symlink, but inside a directory only symlinks\n"
    "                            to files count, not those to directories. '@@' in ARGS becomes the path of a copy of the input, named\n"
    "                            input.EXT after the input's extension, with its mode and mtime, alone\n"
    "                            in a private directory and pristine for every execution; else that\n"
    "                            copy is the target's stdin, read-only, as '< file' gives it\n"
    "      --input-name NAME     name the copy NAME for every input (else a target starts per extension)\n"
    "  -n, --runs N              execute each input N times (no -i: N executions with empty input)\n"
    "  -t, --timeout MS          per-execution timeout, enforced by the server (default 1000; 0: none)\n"
    "      --startup-timeout MS  time allowed for the target to start and hand shake (default 5000)\n"
    "      --start POINT         where the server starts: 'early' (default: the program's entry, after\n"
    "                            every library's constructor, before its own; or .preinit_array),\n"
    "                            'main' (after every constructor), or 'input'\n"
    "                            (inside the target's first call that touches its input: the '@@'\n"
    "                            path or stdin; a target that ends before it does starts early); a\n"
    "                            target that calls forksrv_start() is found and waited for on its own\n"
    "      --shard I/N           run only the I-th of N slices of the inputs (sorted by path, dealt\n"
    "                            in turn): N machines with I = 1..N run every input exactly once\n"
    "      --json                one JSON object per execution on stdout\n"
    "      --junit FILE          a JUnit XML report: a testcase per execution, crashes and timeouts as\n"
    "                            failures with the target's stderr\n"
    "      --crashes DIR         copy inputs that crash or time out into DIR, once each, with the\n"
    "                            target's stderr (NAME.stderr) and a command that reproduces it\n"
    "                            (NAME.repro); DIR must be yours and writable by no one else\n"
    "      --no-server           plain fork+exec per execution, cleaned up after as the server does:\n"
    "                            the baseline, same output\n"
    "      --verify N            also run every N-th input by plain fork+exec and compare the outcomes,\n"
    "                            stdout and stderr; a mismatch is reported, counted, and makes the exit\n"
    "                            status 3\n"
    "      --show-output         the target's stdout and stderr are this program's own (default:\n"
    "                            discarded); with --verify, --crashes or --junit they are captured\n"
    "                            and passed on after each execution\n"
    "      --preload PATH        libforksrv.so to inject (default: beside this program)\n"
    "      --lazy-binding        do not start the server with LD_BIND_NOW=1: every child then binds\n"
    "                            the symbols it calls itself (slower; the default binds them once, in\n"
    "                            the server, unless LD_BIND_NOW is set already)\n"
    "  -j, --jobs N              run N targets side by side, each with its own server and core\n"
    "                            (default 1); results still come in input order\n"
    "      --cpu LIST            cores to run on, e.g. 2 or 0,1 (default: cores no other process is\n"
    "                            pinned to, one per job)\n"
    "      --no-pin              do not pin to cores\n"
    "  -q, --quiet               no per-input lines and no summary\n"
    "  -v, --verbose             a line for every execution\n"
    "  -h, --help                this text\n"
    "  -V, --version             version and protocol version\n"
    "\n"
    "exit status: 0 no crash and no timeout; 1 at least one crash (killed by a signal) or timeout;\n"
    "2 usage, start-up or input error; 3 a --verify mismatch; 130/143 stopped by SIGINT/SIGTERM.\n";

static __attribute__((noreturn)) void usage_error(const char *fmt, const char *arg) {
  fputs("forksrv: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'forksrv --help'.\n", stderr);
  exit(2);
}

/* Digits only, at most max: what every numeric option takes. No sign, no space, no base prefix and no
 * wrap-around, which strtoul and sscanf("%u") would each let through. Returns where the digits end. */
static const char *digits(const char *s, unsigned long max, unsigned long *out) {
  unsigned long v = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    if (v > max / 10 || (v == max / 10 && d > max % 10)) return NULL;
    v = v * 10 + d;
  }
  if (p == s) return NULL;
  *out = v;
  return p;
}

static unsigned long number(const char *arg, const char *option, unsigned long max) {
  unsigned long v;
  const char *end = digits(arg, max, &v);
  if (!end || *end) {
    char what[96];
    snprintf(what, sizeof what, "%s wants a whole number from 0 to %lu, not '%%s'", option, max);
    usage_error(what, arg);
  }
  return v;
}

static void cpu_list(char *arg, struct cli_opts *o) {
  o->ncpus = 0;
  for (const char *item = arg;; item++) {
    unsigned long cpu;
    const char *end = digits(item, 4095, &cpu);
    if (!end || (*end && *end != ',')) usage_error("--cpu wants a core or a list of them (0 to 4095, e.g. 0,2), not '%s'", arg);
    if (o->ncpus == (int)(sizeof o->cpus / sizeof *o->cpus)) usage_error("--cpu names more than 64 cores: %s", arg);
    o->cpus[o->ncpus++] = (int)cpu;
    if (!*end) break;
    item = end;
  }
}

static void shard(const char *arg, struct cli_opts *o) {
  unsigned long i, n;
  const char *slash = digits(arg, UINT_MAX, &i), *end = slash && *slash == '/' ? digits(slash + 1, UINT_MAX, &n) : NULL;
  if (!end || *end || i < 1 || i > n) usage_error("--shard wants I/N with 1 <= I <= N <= 4294967295, not '%s'", arg);
  o->shard = (unsigned)i;
  o->shards = (unsigned)n;
}

static void parse_args(int argc, char **argv, struct cli_opts *o) {
  enum { OPT_JSON = 256, OPT_CRASHES, OPT_NO_SERVER, OPT_PRELOAD, OPT_STARTUP, OPT_SHOW_OUTPUT, OPT_START, OPT_CPU,
         OPT_NO_PIN, OPT_SHARD, OPT_JUNIT, OPT_VERIFY, OPT_LAZY, OPT_INPUT_NAME };
  static const struct option longs[] = {
      {"input", required_argument, 0, 'i'},   {"runs", required_argument, 0, 'n'},
      {"timeout", required_argument, 0, 't'}, {"startup-timeout", required_argument, 0, OPT_STARTUP},
      {"json", no_argument, 0, OPT_JSON},     {"crashes", required_argument, 0, OPT_CRASHES},
      {"no-server", no_argument, 0, OPT_NO_SERVER}, {"preload", required_argument, 0, OPT_PRELOAD},
      {"show-output", no_argument, 0, OPT_SHOW_OUTPUT}, {"start", required_argument, 0, OPT_START},
      {"cpu", required_argument, 0, OPT_CPU},           {"no-pin", no_argument, 0, OPT_NO_PIN},
      {"jobs", required_argument, 0, 'j'},    {"shard", required_argument, 0, OPT_SHARD},
      {"junit", required_argument, 0, OPT_JUNIT},    {"verify", required_argument, 0, OPT_VERIFY},
      {"lazy-binding", no_argument, 0, OPT_LAZY},     {"input-name", required_argument, 0, OPT_INPUT_NAME},
      {"quiet", no_argument, 0, 'q'},         {"verbose", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'},          {"version", no_argument, 0, 'V'},
      {0, 0, 0, 0},
  };
  memset(o, 0, sizeof *o);
  o->runs = 1;
  o->timeout_ms = 1000;
  o->startup_timeout_ms = 5000;
  o->pin = 1;
  o->jobs = 1;
  if (!(o->inputs = calloc((size_t)argc, sizeof *o->inputs))) usage_error("calloc: %s", strerror(errno));
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+:i:n:t:j:qvhV", longs, NULL)) != -1) {
    switch (c) {
    case 'i': o->inputs[o->ninputs++] = optarg; break;
    case 'n': o->runs = number(optarg, "--runs", 1ul << 40); break;
    case 't': o->timeout_ms = (unsigned)number(optarg, "--timeout", 1u << 30); break;
    case OPT_STARTUP: o->startup_timeout_ms = (unsigned)number(optarg, "--startup-timeout", 1u << 30); break;
    case OPT_JSON: o->json = 1; break;
    case OPT_CRASHES: o->crashes = optarg; break;
    case OPT_NO_SERVER: o->no_server = 1; break;
    case OPT_PRELOAD: o->preload = optarg; break;
    case OPT_SHOW_OUTPUT: o->show_output = 1; break;
    case 'j': o->jobs = (unsigned)number(optarg, "--jobs", DRV_MAX_JOBS); break;
    case OPT_CPU: cpu_list(optarg, o); break;
    case OPT_SHARD: shard(optarg, o); break;
    case OPT_JUNIT: o->junit = optarg; break;
    case OPT_VERIFY:
      if (!(o->verify = number(optarg, "--verify", 1ul << 40))) usage_error("--verify must be at least 1%s", "");
      break;
    case OPT_NO_PIN: o->pin = 0; break;
    case OPT_LAZY: o->lazy_binding = 1; break;
    case OPT_INPUT_NAME:
      if (!*optarg || strchr(optarg, '/') || !strcmp(optarg, ".") || !strcmp(optarg, "..") || strlen(optarg) > 255)
        usage_error("--input-name wants a file name (no '/', at most 255 bytes), not '%s'", optarg);
      o->input_name = optarg;
      break;
    case OPT_START:
      if (strcmp(optarg, "early") && strcmp(optarg, "main") && strcmp(optarg, "input"))
        usage_error("--start is 'early', 'main' or 'input', not '%s'", optarg);
      o->start = !strcmp(optarg, "main") ? DRV_START_MAIN : !strcmp(optarg, "input") ? DRV_START_INPUT : DRV_START_EARLY;
      break;
    case 'q': o->quiet = 1; break;
    case 'v': o->verbose = 1; break;
    case 'h': fputs(usage, stdout); exit(0);
    case 'V': printf("forksrv %s (protocol %u, %s)\n", FORKSRV_VERSION, FIFO_PROTOCOL_VERSION, FORKSRV_SONAME); exit(0);
    case ':': usage_error("option %s needs an argument", argv[optind - 1]);
    default: usage_error("unknown option %s", argv[optind - 1]);
    }
  }
  if (o->runs == 0) usage_error("--runs must be at least 1%s", "");
  if (o->jobs == 0) usage_error("--jobs must be at least 1%s", "");
  if (o->shards && !o->ninputs) usage_error("--shard needs inputs (-i)%s", "");
  if (optind >= argc) usage_error("no target given: forksrv [OPTIONS] -- TARGET [ARGS...]%s", "");
  o->target = argv + optind;
  for (char **a = o->target; *a; a++) o->by_path |= strstr(*a, "@@") != NULL;
}

/* SIGINT and SIGTERM become readable events on the returned fd; a run in progress gives up when one
 * arrives, and main stops everything in order. SIGPIPE is blocked too (not ignored, which a target
 * would inherit through exec; every target starts with an empty mask): a reader of our stdout that
 * went is then a write error like any other, said and exit 2, with --junit still written. */
static int take_signals(sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGPIPE);
  sigprocmask(SIG_BLOCK, &set, old);
  sigdelset(&set, SIGPIPE);
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int signal_taken(int sigfd) {
  struct signalfd_siginfo si;
  return read(sigfd, &si, sizeof si) == (ssize_t)sizeof si ? (int)si.ssi_signo : 0;
}

static int collect_inputs(const struct cli_opts *o, struct cli_inputs *in) {
  for (size_t i = 0; i < o->ninputs; i++)
    if (cli_collect(in, o->inputs[i]) < 0) return -1;
  if (o->ninputs && in->n == 0) {
    cli_error("no input files in %s%s", o->inputs[0], o->ninputs > 1 ? " and the rest" : "");
    return -1;
  }
  /* A shard may be empty (more shards than inputs): it then runs nothing, successfully. */
  if (o->shards) cli_shard(in, o->shard, o->shards);
  return 0;
}

/* Descendants that escaped the target's process group were reparented to us, the subreaper: each is
 * our unreaped child, so killing it by pid is safe. */
static void reap_orphans(void) {
  for (;;) {
    pid_t pid = waitpid(-1, NULL, WNOHANG | __WALL);
    if (pid > 0) continue;
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) return;
    FILE *f = fopen("/proc/thread-self/children", "re");
    int killed = 0, child;
    while (f && fscanf(f, "%d", &child) == 1)
      if (child > 0 && kill(child, SIGKILL) == 0) killed++;
    if (f) fclose(f);
    if (!killed) return;
    while (waitpid(-1, NULL, __WALL) < 0 && errno == EINTR) {}
  }
}

/* What the jobs share while they run: the next input to hand out, the results waiting for their turn
 * to be reported, and why the run stopped. One lock guards all of it. */
struct run_state {
  const struct cli_opts *o;
  const struct cli_inputs *in;
  struct cli_tally *t;
  pthread_mutex_t lock;
  pthread_cond_t room;     /* a report made room in the window, or the run stopped */
  struct pending *ring;    /* results by ticket, window of them */
  size_t window, n, next_input;
  unsigned long next_run, next_ticket, next_report;
  int stopped;             /* 0 running, -1 an error (said), STOPPED_BY_SIGNAL */
  int stop_fd;             /* an eventfd that wakes every job's wait once the run stopped, or -1 */
};

/* A job's wait saw the signalfd readable: the signal is read once, after every job has seen it. */
#define STOPPED_BY_SIGNAL (-2)

/* A job: its targets (one per input file name), the thread that runs them, and the input it has
 * loaded, with its file's mode and mtime. */
struct job {
  struct run_state *s;
  struct cli_targets targets;
  int first;            /* the first job: it says its targets' start-up warnings */
  int core;             /* pinned to, or -1 */
  pthread_t thread;
  char *buf;
  size_t len;
  unsigned mode;
  struct timespec mtime;
  size_t loaded;        /* read from in->paths[loaded - 1] (0: none) */
  char *out, *err;      /* --verify: the server run's stdout and stderr */
  size_t out_len, err_len;
};

/* A result, or an input that could not be read, waiting until everything before it is reported. */
struct pending {
  int kind; /* 0 none, 1 result, 2 read error */
  struct drv_result r;
  const char *name;
  unsigned long run;
  int err;
  char *stderr_tail; /* for --junit's failures */
  size_t stderr_len;
  int verified;      /* --verify: plain holds the same input's result by plain fork+exec */
  struct drv_result plain;
  char *output_diff; /* --verify: how their stdout or stderr differ, or NULL */
  int write_failed;  /* an output could not be written (said): the run stops once this is reported */
};

/* How much of a crash's stderr a JUnit failure carries: a sanitizer's report fits. */
#define JUNIT_STDERR_MAX 65536

/* Results can come out of order by at most this many per job before handing out waits for the rest. */
#define REORDER_PER_JOB 64

/* Why a call failed, said unless it was the signalfd (then main reads the signal). */
static int stop_reason(const char *why) {
  if (errno == EINTR) return STOPPED_BY_SIGNAL;
  cli_error("%s", why);
  return -1;
}

/* A capture's whole content into *buf (reused); its length. */
static size_t slurp(int fd, char **buf) {
  off_t size = fd < 0 ? 0 : lseek(fd, 0, SEEK_END);
  if (size > (off_t)DRV_CAPTURE_MAX) size = DRV_CAPTURE_MAX;
  char *p = realloc(*buf, size > 0 ? (size_t)size : 1);
  if (!p) return 0;
  *buf = p;
  ssize_t n = size > 0 ? pread(fd, p, (size_t)size, 0) : 0;
  return n > 0 ? (size_t)n : 0;
}

/* --verify: how one stream of the plain run differs from the server run's, or NULL. */
static char *stream_diff(const char *what, const char *served, size_t served_len, int plain_fd) {
  char *plain = NULL, *diff = NULL;
  size_t plain_len = slurp(plain_fd, &plain), at = 0;
  while (at < served_len && at < plain_len && served[at] == plain[at]) at++;
  if (at < served_len || at < plain_len)
    if (asprintf(&diff, "%s differs from byte %zu on (%zu bytes under the fork server, %zu by plain fork+exec)", what,
                 at, served_len, plain_len) < 0)
      diff = NULL;
  free(plain);
  return diff;
}

/* Whether reporting r prints a line where the progress line is. */
static int prints(const struct cli_opts *o, const struct drv_result *r) {
  if (o->quiet) return r->outcome == DRV_FORK_FAILED || r->outcome == DRV_WAIT_FAILED;
  if (o->json) return isatty(1);
  return o->verbose || r->outcome != DRV_EXITED;
}

static void stop_run(struct run_state *s, int why);

/* Whether stdout took everything so far; said once if not. A full disk or a closed pipe ends the run:
 * a report with holes in it would look complete. */
static int stdout_ok(void) {
  static int said;
  if (!ferror(stdout)) return 1;
  if (!said++) cli_error("write standard output: %s", strerror(errno ? errno : EIO));
  return 0;
}

/* With the lock held: reports every result whose turn has come. */
static void report_ready(struct run_state *s) {
  const struct cli_opts *o = s->o;
  for (struct pending *p; (p = &s->ring[s->next_report % s->window])->kind; s->next_report++) {
    if (p->kind == 1) {
      const struct drv_result *plain = p->verified ? &p->plain : NULL;
      if (prints(o, &p->r) || (plain && (!cli_same_outcome(&p->r, plain) || p->output_diff))) cli_progress_clear();
      cli_report(o, s->t, p->name, p->run, &p->r, plain, p->output_diff);
      if (o->junit) cli_junit_case(o, p->name, p->run, &p->r, plain, p->output_diff, p->stderr_tail, p->stderr_len);
    } else {
      cli_progress_clear();
      cli_report_error(o, s->t, p->name, strerror(p->err));
      if (o->junit) cli_junit_error(o, p->name, strerror(p->err));
    }
    int failed = p->write_failed || !stdout_ok();
    free(p->stderr_tail);
    free(p->output_diff);
    *p = (struct pending){0};
    cli_progress(s->t);
    if (failed) stop_run(s, -1);
  }
}

/* Runs one input (execution number ticket) on j into p; 0, or why the run must stop. */
static int run_one(struct job *j, const char *name, size_t input, unsigned long run, unsigned long ticket,
                   struct pending *p) {
  struct run_state *s = j->s;
  const struct cli_opts *o = s->o;
  *p = (struct pending){.name = name, .run = run};
  if (name && j->loaded != input + 1) {
    p->err = cli_read_input(name, &j->buf, &j->len, &j->mode, &j->mtime);
    j->loaded = p->err ? 0 : input + 1;
    if (p->err) {
      p->kind = 2;
      return 0;
    }
  }
  size_t len = name ? j->len : 0;
  char why[1024];
  struct drv *d = cli_target_for(&j->targets, name, j->first, why, sizeof why);
  if (!d) return stop_reason(why);
  if (name) drv_input_attrs(d, j->mode, j->mtime);
  if (drv_run(d, j->buf, len, &p->r) < 0) return stop_reason(drv_error(d));
  p->kind = 1;
  int failed = p->r.outcome == DRV_SIGNALLED || p->r.outcome == DRV_TIMED_OUT;
  int verify = o->verify && !o->no_server && ticket % o->verify == 0;
  if (verify) {
    j->out_len = slurp(drv_stdout_fd(d), &j->out);
    j->err_len = slurp(drv_stderr_fd(d), &j->err);
  }
  if (o->show_output || (o->crashes && failed)) {
    pthread_mutex_lock(&s->lock);
    if (o->show_output) {
      /* What was captured for a comparison or a report still reaches the user. */
      cli_progress_clear();
      if (cli_copy_capture(drv_stdout_fd(d), 1, "standard output") < 0 ||
          cli_copy_capture(drv_stderr_fd(d), 2, "standard error") < 0)
        p->write_failed = 1;
    }
    if (o->crashes && failed && cli_save_crash(o, name, j->buf, len, drv_stderr_fd(d)) < 0) {
      s->t->errors++;
      p->write_failed = 1;
    }
    pthread_mutex_unlock(&s->lock);
  }
  if (o->junit && failed) p->stderr_tail = cli_stderr_tail(drv_stderr_fd(d), JUNIT_STDERR_MAX, &p->stderr_len);
  if (verify) {
    if (drv_run_plain(d, j->buf, len, &p->plain) < 0) return stop_reason(drv_error(d));
    p->verified = 1;
    p->output_diff = stream_diff("stdout", j->out, j->out_len, drv_stdout_fd(d));
    if (!p->output_diff) p->output_diff = stream_diff("stderr", j->err, j->err_len, drv_stderr_fd(d));
  }
  return 0;
}

/* With the lock held: the run stops, for why, and the other jobs, which may be waiting on inputs
 * without a timeout, give up now. */
static void stop_run(struct run_state *s, int why) {
  if (!s->stopped) s->stopped = why;
  uint64_t one = 1;
  if (s->stop_fd >= 0 && write(s->stop_fd, &one, sizeof one) < 0) {}
  pthread_cond_broadcast(&s->room);
}

/* A job's loop: take the next input, run it, report what is in order, until none is left or the run
 * stopped. Each job is its own thread on its own core, so that every hand-off between it and its
 * server stays a same-core wake-up; -j 1 runs it in main's thread. */
static void *run_job(void *arg) {
  struct job *j = arg;
  struct run_state *s = j->s;
  if (j->core >= 0 && s->o->jobs > 1) drv_pin(&j->core, 1);
  pthread_mutex_lock(&s->lock);
  for (;;) {
    while (!s->stopped && s->next_input < s->n && s->next_ticket - s->next_report >= s->window)
      pthread_cond_wait(&s->room, &s->lock);
    if (s->stopped || s->next_input >= s->n) break;
    size_t input = s->next_input;
    const char *name = s->o->ninputs ? s->in->paths[input] : NULL;
    unsigned long run = s->next_run, ticket = s->next_ticket++;
    if (++s->next_run > s->o->runs) s->next_input++, s->next_run = 1;
    pthread_mutex_unlock(&s->lock);
    struct pending p;
    int why = run_one(j, name, input, run, ticket, &p);
    pthread_mutex_lock(&s->lock);
    if (why) {
      stop_run(s, why);
      free(p.stderr_tail);
      break;
    }
    /* An input that cannot be read is reported once, not once per run. */
    if (p.kind == 2 && s->next_input == input) s->next_input++, s->next_run = 1;
    s->ring[ticket % s->window] = p;
    report_ready(s);
    pthread_cond_broadcast(&s->room);
  }
  pthread_cond_broadcast(&s->room);
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* Runs every input on the jobs, each input on whichever job is free, and reports in input order;
 * returns the signal that stopped it, 0 when all ran, -1 after an error. */
static int run_all(const struct cli_opts *o, const struct cli_inputs *in, struct job *jobs, struct cli_tally *t,
                   int sigfd, int stop_fd) {
  struct run_state s = {.o = o, .in = in, .t = t, .window = o->jobs * REORDER_PER_JOB,
                        .n = o->ninputs ? in->n : 1, .next_run = 1, .stop_fd = stop_fd};
  if (!(s.ring = calloc(s.window, sizeof *s.ring))) {
    cli_error("calloc: %s", strerror(errno));
    return -1;
  }
  pthread_mutex_init(&s.lock, NULL);
  pthread_cond_init(&s.room, NULL);
  cli_progress_start(o, (unsigned long)s.n * o->runs);
  unsigned started = 0;
  for (unsigned k = 0; k < o->jobs; k++) jobs[k].s = &s;
  if (o->jobs == 1) {
    run_job(&jobs[0]);
  } else {
    for (; started < o->jobs; started++) {
      int err = pthread_create(&jobs[started].thread, NULL, run_job, &jobs[started]);
      if (err) {
        cli_error("pthread_create: %s", strerror(err));
        pthread_mutex_lock(&s.lock);
        stop_run(&s, -1);
        pthread_mutex_unlock(&s.lock);
        break;
      }
    }
    for (unsigned k = 0; k < started; k++) pthread_join(jobs[k].thread, NULL);
  }
  report_ready(&s);
  cli_progress_clear();
  for (size_t i = 0; i < s.window; i++) free(s.ring[i].stderr_tail);
  free(s.ring);
  pthread_cond_destroy(&s.room);
  pthread_mutex_destroy(&s.lock);
  if (s.stopped != STOPPED_BY_SIGNAL) return s.stopped;
  int sig = signal_taken(sigfd);
  return sig ? sig : -1;
}

/* The cores the jobs run on, one each (shared round the list when there are fewer): --cpu's, or free
 * ones. None (0) means unpinned. A core that cannot be had is not an error unless the user named it. */
static int choose_cores(const struct cli_opts *o, int *cores) {
  if (!o->pin) return 0;
  if (o->ncpus) {
    memcpy(cores, o->cpus, (size_t)o->ncpus * sizeof *cores);
    return o->ncpus;
  }
  int n = drv_pick_cpus(cores, o->jobs < 64 ? (int)o->jobs : 64);
  if (n == 0 && o->verbose) cli_error("no free core to pin to: running unpinned");
  /* Said, so that a reader of -v knows why two jobs name one core: other processes hold the rest. */
  if (n > 0 && (unsigned)n < o->jobs && o->verbose) cli_error("%d free cores for %u jobs: the jobs share them", n, o->jobs);
  return n;
}

static void stop_all(struct job *jobs, unsigned n) {
  for (unsigned k = 0; k < n; k++) {
    cli_targets_stop(&jobs[k].targets);
    free(jobs[k].buf);
    free(jobs[k].out);
    free(jobs[k].err);
  }
}

/* Starts the targets (each pinned to its core, which its server and children inherit, and which its
 * job's thread then runs on), runs the inputs and stops them; returns as run_all does, or -1 when
 * start-up failed. */
static int run(const struct cli_opts *o, const struct cli_inputs *in, struct cli_tally *t, int sigfd) {
  /* Every wait gives up when a signal came (the signalfd) or another job stopped the run (stop_fd):
   * an epoll set of the two is readable when either is. */
  int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), cancel_fd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  if (stop_fd < 0 || cancel_fd < 0 || epoll_ctl(cancel_fd, EPOLL_CTL_ADD, sigfd, &ev) < 0 ||
      epoll_ctl(cancel_fd, EPOLL_CTL_ADD, stop_fd, &ev) < 0) {
    cli_error("eventfd and epoll: %s", strerror(errno));
    if (stop_fd >= 0) close(stop_fd);
    if (cancel_fd >= 0) close(cancel_fd);
    return -1;
  }
  struct drv_config cfg = cli_config(o, cancel_fd);
  int cores[64];
  int ncores = choose_cores(o, cores);
  struct job *jobs = calloc(o->jobs, sizeof *jobs);
  int stopped = 0;
  if (!jobs) {
    cli_error("calloc: %s", strerror(errno));
    stopped = -1;
  }
  for (unsigned k = 0; !stopped && k < o->jobs; k++) {
    int cpu = ncores ? cores[k % (unsigned)ncores] : -1;
    if (cpu >= 0 && drv_pin(&cpu, 1) < 0) {
      cli_error("pin to core %d: %s", cpu, strerror(errno));
      if (o->ncpus) stopped = -1;
      ncores = 0;
      cpu = -1;
    } else if (cpu >= 0 && o->verbose) {
      cli_error("pinned to core %d", cpu);
    }
    jobs[k].core = cpu;
    jobs[k].first = k == 0;
    jobs[k].targets = (struct cli_targets){.o = o, .cfg = cfg};
    char err[1024];
    /* The first input's target starts now, so that a target that cannot start ends the run before
     * any input runs; targets for other input names start when their first input comes. */
    if (!stopped && !cli_target_for(&jobs[k].targets, o->ninputs && in->n ? in->paths[0] : NULL, k == 0, err, sizeof err)) {
      int sig = errno == EINTR ? signal_taken(sigfd) : 0;
      if (!sig) cli_error("%s", err);
      stopped = sig ? sig : -1;
    }
    if (stopped) break;
  }
  /* The summary's time and rate are the executions', not the targets' start-up. */
  t->started_us = cli_now_us();
  if (!stopped) stopped = run_all(o, in, jobs, t, sigfd, stop_fd);
  if (jobs) stop_all(jobs, o->jobs);
  free(jobs);
  close(cancel_fd);
  close(stop_fd);
  return stopped;
}

int main(int argc, char **argv) {
  struct cli_opts o;
  struct cli_inputs in = {0};
  struct cli_tally t = {0};
  sigset_t old_mask;
  int stopped = 0;

  if (argc > 1 && !strcmp(argv[1], "check")) {
    parse_args(argc - 1, argv + 1, &o);
    int rc = cli_check(&o);
    free(o.inputs);
    return rc;
  }
  parse_args(argc, argv, &o);
  int sigfd = take_signals(&old_mask);
  if (sigfd < 0) {
    cli_error("signalfd: %s", strerror(errno));
    stopped = -1;
  } else if (collect_inputs(&o, &in) < 0) {
    stopped = -1;
  } else if (o.crashes && cli_crashes_open(o.crashes) < 0) {
    stopped = -1;
  } else if (o.junit && cli_junit_open() < 0) {
    cli_error("junit: temporary file: %s", strerror(errno));
    stopped = -1;
  } else {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    stopped = run(&o, &in, &t, sigfd);
    reap_orphans();
    if (fflush(stdout) != 0 || ferror(stdout)) {
      stdout_ok();
      t.errors++;
    }
    if (stopped >= 0) cli_summary(&o, &t);
    if (o.junit && cli_junit_write(&o, (double)(cli_now_us() - t.started_us) / 1e6) < 0) t.errors++;
  }
  cli_free_inputs(&in);
  free(o.inputs);
  if (stopped > 0) return 128 + stopped;
  if (stopped < 0 || t.errors || t.fork_failed) return 2;
  if (t.mismatches) return 3;
  return t.crashed || t.timed_out ? 1 : 0;
}
