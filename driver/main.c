/* The forksrv CLI: a thin main over the client API. It reads like its job: parse the options, take
 * SIGINT and SIGTERM synchronously (blocked, then read from a signalfd inside the waits), list the
 * inputs, start the target, run every input, stop, report. Exit status: 0 clean, 1 a crash or a
 * timeout, 2 a usage, start-up or input error, 128+N when stopped by signal N. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    "                            order. '@@' in ARGS becomes the path of a file holding the input, else\n"
    "                            the input is the target's stdin\n"
    "  -n, --runs N              execute each input N times (no -i: N executions with empty input)\n"
    "  -t, --timeout MS          per-execution timeout, enforced by the server (default 1000; 0: none)\n"
    "      --startup-timeout MS  time allowed for the target to start and hand shake (default 5000)\n"
    "      --start POINT         where the server starts: 'early' (default: the preload's constructor,\n"
    "                            or .preinit_array), 'main' (after every constructor), or 'input'\n"
    "                            (inside the target's first call that touches its input: the '@@'\n"
    "                            path or stdin); a target that calls forksrv_start() is found and\n"
    "                            waited for on its own\n"
    "      --shard I/N           run only the I-th of N slices of the inputs (sorted by path, dealt\n"
    "                            in turn): N machines with I = 1..N run every input exactly once\n"
    "      --json                one JSON object per execution on stdout\n"
    "      --junit FILE          a JUnit XML report: a testcase per execution, crashes and timeouts as\n"
    "                            failures with the target's stderr\n"
    "      --crashes DIR         copy inputs that crash or time out into DIR, each with the target's\n"
    "                            stderr (NAME.stderr) and a command that reproduces it (NAME.repro)\n"
    "      --no-server           plain fork+exec per execution: the baseline, same output\n"
    "      --verify N            also run every N-th input by plain fork+exec and compare the outcomes;\n"
    "                            a mismatch is reported, counted, and makes the exit status 3\n"
    "      --show-output         pass the target's stdout and stderr on (default: discarded; stderr\n"
    "                            is still saved for --crashes)\n"
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

static unsigned long number(const char *arg, const char *option, unsigned long max) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(arg, &end, 10);
  if (errno || end == arg || *end || arg[0] == '-' || v > max) {
    char what[64];
    snprintf(what, sizeof what, "%s wants a number, not '%%s'", option);
    usage_error(what, arg);
  }
  return v;
}

static void cpu_list(char *arg, struct cli_opts *o) {
  o->ncpus = 0;
  for (char *save = NULL, *item = strtok_r(arg, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    if (o->ncpus == (int)(sizeof o->cpus / sizeof *o->cpus)) usage_error("--cpu names more than 64 cores: %s", arg);
    o->cpus[o->ncpus++] = (int)number(item, "--cpu", 4095);
  }
  if (!o->ncpus) usage_error("--cpu wants a core or a list of them, not '%s'", arg);
}

static void shard(const char *arg, struct cli_opts *o) {
  unsigned i, n;
  char end;
  if (sscanf(arg, "%u/%u%c", &i, &n, &end) != 2 || i < 1 || i > n || arg[0] == '-')
    usage_error("--shard wants I/N with 1 <= I <= N, not '%s'", arg);
  o->shard = i;
  o->shards = n;
}

static void parse_args(int argc, char **argv, struct cli_opts *o) {
  enum { OPT_JSON = 256, OPT_CRASHES, OPT_NO_SERVER, OPT_PRELOAD, OPT_STARTUP, OPT_SHOW_OUTPUT, OPT_START, OPT_CPU,
         OPT_NO_PIN, OPT_SHARD, OPT_JUNIT, OPT_VERIFY, OPT_LAZY };
  static const struct option longs[] = {
      {"input", required_argument, 0, 'i'},   {"runs", required_argument, 0, 'n'},
      {"timeout", required_argument, 0, 't'}, {"startup-timeout", required_argument, 0, OPT_STARTUP},
      {"json", no_argument, 0, OPT_JSON},     {"crashes", required_argument, 0, OPT_CRASHES},
      {"no-server", no_argument, 0, OPT_NO_SERVER}, {"preload", required_argument, 0, OPT_PRELOAD},
      {"show-output", no_argument, 0, OPT_SHOW_OUTPUT}, {"start", required_argument, 0, OPT_START},
      {"cpu", required_argument, 0, OPT_CPU},           {"no-pin", no_argument, 0, OPT_NO_PIN},
      {"jobs", required_argument, 0, 'j'},    {"shard", required_argument, 0, OPT_SHARD},
      {"junit", required_argument, 0, OPT_JUNIT},    {"verify", required_argument, 0, OPT_VERIFY},
      {"lazy-binding", no_argument, 0, OPT_LAZY},
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
}

/* SIGINT and SIGTERM become readable events on the returned fd; a run in progress gives up when one
 * arrives, and main stops everything in order. */
static int take_signals(sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, old);
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

/* One target and what it runs now. */
struct job {
  struct drv *d;
  char *buf;           /* the input it runs, */
  size_t len;
  size_t loaded;       /* read from in->paths[loaded - 1] (0: none) */
  const char *name;
  unsigned long run;
  unsigned long ticket; /* its place in the order of reports */
};

/* A result, or an input that could not be read, waiting until everything before it is reported. */
struct pending {
  int kind; /* 0 none, 1 result, 2 read error */
  struct drv_result r;
  const char *name;
  unsigned long run;
  int err;
  char *stderr_tail; /* for --junit's failures */
  int verified;      /* --verify: plain holds the same input's result by plain fork+exec */
  struct drv_result plain;
};

/* How much of a crash's stderr a JUnit failure carries: a sanitizer's report fits. */
#define JUNIT_STDERR_MAX 65536

/* Results can come out of order by at most this many per job before submitting waits for the rest. */
#define REORDER_PER_JOB 64

static int stop_reason(struct drv *d, int sigfd) {
  int sig = errno == EINTR ? signal_taken(sigfd) : 0;
  if (!sig) cli_error("%s", drv_error(d));
  return sig ? sig : -1;
}

/* Whether reporting r prints a line where the progress line is. */
static int prints(const struct cli_opts *o, const struct drv_result *r) {
  if (o->quiet) return r->outcome == DRV_FORK_FAILED;
  if (o->json) return isatty(1);
  return o->verbose || r->outcome != DRV_EXITED;
}

static void report_ready(const struct cli_opts *o, struct cli_tally *t, struct pending *ring, size_t window,
                         unsigned long *next) {
  for (struct pending *p; (p = &ring[*next % window])->kind; ++*next) {
    if (p->kind == 1) {
      const struct drv_result *plain = p->verified ? &p->plain : NULL;
      if (prints(o, &p->r) || (plain && !cli_same_outcome(&p->r, plain))) cli_progress_clear();
      cli_report(o, t, p->name, p->run, &p->r, plain);
      if (o->junit) cli_junit_case(o, p->name, p->run, &p->r, plain, p->stderr_tail);
    } else {
      cli_progress_clear();
      cli_report_error(o, t, p->name, strerror(p->err));
      if (o->junit) cli_junit_error(o, p->name, strerror(p->err));
    }
    free(p->stderr_tail);
    *p = (struct pending){0};
    cli_progress(t);
  }
}

/* Runs every input on the jobs, each input on whichever job is free, and reports in input order;
 * returns the signal that stopped it, 0 when all ran, -1 after an error. */
static int run_all(const struct cli_opts *o, const struct cli_inputs *in, struct job *jobs, struct drv **ds,
                   struct drv *verifier, struct cli_tally *t, int sigfd) {
  size_t window = o->jobs * REORDER_PER_JOB, n = o->ninputs ? in->n : 1, next_input = 0, busy = 0;
  struct pending *ring = calloc(window, sizeof *ring);
  if (!ring) {
    cli_error("calloc: %s", strerror(errno));
    return -1;
  }
  unsigned long next_run = 1, next_ticket = 0, next_report = 0;
  int stopped = 0;
  cli_progress_start(o, (unsigned long)n * o->runs);
  for (;;) {
    for (unsigned k = 0; k < o->jobs && !stopped && next_input < n && next_ticket - next_report < window; k++) {
      struct job *j = &jobs[k];
      if (j->name) continue; /* in flight */
      const char *name = o->ninputs ? in->paths[next_input] : NULL;
      if (name && j->loaded != next_input + 1) {
        int err = cli_read_input(name, &j->buf, &j->len);
        j->loaded = err ? 0 : next_input + 1;
        if (err) {
          ring[next_ticket++ % window] = (struct pending){.kind = 2, .name = name, .err = err};
          next_input++, next_run = 1;
          k--; /* this job is still free */
          continue;
        }
      }
      if (drv_submit(j->d, j->buf, name ? j->len : 0) < 0) {
        stopped = stop_reason(j->d, sigfd);
        break;
      }
      j->name = name ? name : "";
      j->run = next_run;
      j->ticket = next_ticket++;
      busy++;
      if (++next_run > o->runs) next_input++, next_run = 1;
    }
    report_ready(o, t, ring, window, &next_report);
    if (!busy || stopped) break;
    /* One job: its drv_collect does the waiting, with one poll instead of two. */
    int k = o->jobs == 1 ? 0 : drv_wait_any(ds, o->jobs);
    struct job *j = k < 0 ? NULL : &jobs[k];
    struct drv_result r;
    if (!j || drv_collect(j->d, &r) < 0) {
      if (!j && errno != EINTR) cli_error("wait: %s", strerror(errno));
      stopped = j ? stop_reason(j->d, sigfd) : errno == EINTR ? signal_taken(sigfd) : -1;
      break;
    }
    busy--;
    const char *name = *j->name ? j->name : NULL;
    j->name = NULL;
    if (o->show_output) cli_progress_clear(), cli_copy_stderr(drv_stderr_fd(j->d));
    if (o->crashes && (r.outcome == DRV_SIGNALLED || r.outcome == DRV_TIMED_OUT) &&
        cli_save_crash(o, name, j->buf, name ? j->len : 0, drv_stderr_fd(j->d)) < 0)
      t->errors++;
    int failed = r.outcome == DRV_SIGNALLED || r.outcome == DRV_TIMED_OUT;
    struct pending *p = &ring[j->ticket % window];
    *p = (struct pending){.kind = 1, .r = r, .name = name, .run = j->run,
        .stderr_tail = o->junit && failed ? cli_stderr_tail(drv_stderr_fd(j->d), JUNIT_STDERR_MAX) : NULL};
    if (verifier && j->ticket % o->verify == 0) {
      if (drv_run(verifier, j->buf, name ? j->len : 0, &p->plain) < 0) {
        stopped = stop_reason(verifier, sigfd);
        break;
      }
      p->verified = 1;
    }
  }
  report_ready(o, t, ring, window, &next_report);
  cli_progress_clear();
  for (size_t i = 0; i < window; i++) free(ring[i].stderr_tail);
  free(ring);
  return stopped;
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
  return n;
}

static void stop_all(struct job *jobs, unsigned n) {
  for (unsigned k = 0; k < n; k++) {
    if (jobs[k].d && drv_stop(jobs[k].d) < 0) cli_error("the server did not stop when asked; killed it");
    free(jobs[k].buf);
  }
}

/* Starts the targets (each pinned to its core, which its server and children inherit), runs the
 * inputs and stops them; returns as run_all does, or -1 when start-up failed. */
static int run(const struct cli_opts *o, const struct cli_inputs *in, struct cli_tally *t, int sigfd) {
  struct drv_config cfg = cli_config(o, sigfd);
  int cores[64];
  int ncores = choose_cores(o, cores);
  struct job *jobs = calloc(o->jobs, sizeof *jobs);
  struct drv **ds = calloc(o->jobs, sizeof *ds);
  if (!jobs || !ds) {
    cli_error("calloc: %s", strerror(errno));
    free(jobs);
    free(ds);
    return -1;
  }
  int stopped = 0;
  t->started_us = cli_now_us();
  for (unsigned k = 0; k < o->jobs && !stopped; k++) {
    int cpu = ncores ? cores[k % (unsigned)ncores] : -1;
    if (cpu >= 0 && drv_pin(&cpu, 1) < 0) {
      cli_error("pin to core %d: %s", cpu, strerror(errno));
      if (o->ncpus) stopped = -1;
      ncores = 0;
    } else if (cpu >= 0 && o->verbose) {
      cli_error("pinned to core %d", cpu);
    }
    char err[1024];
    if (!stopped && !(jobs[k].d = ds[k] = drv_start(&cfg, err, sizeof err))) {
      int sig = errno == EINTR ? signal_taken(sigfd) : 0;
      if (!sig) cli_error("%s", err);
      stopped = sig ? sig : -1;
    }
    if (stopped) break;
    if (k == 0 && !o->quiet && *drv_warnings(ds[k])) fputs(drv_warnings(ds[k]), stderr);
    if (o->verbose && !o->no_server) cli_error("fork server pid %d started at %s", drv_server_pid(ds[k]), drv_start_point(ds[k]));
  }
  /* This process serves every job: it may run on any of their cores. */
  if (!stopped && ncores > 1 && o->jobs > 1) drv_pin(cores, ncores < (int)o->jobs ? ncores : (int)o->jobs);
  /* The summary's time and rate are the executions', not the targets' start-up. */
  t->started_us = cli_now_us();
  /* --verify's plain fork+exec runs, with the same files on fds 0-2 and the same environment. */
  struct drv *verifier = NULL;
  if (!stopped && o->verify && !o->no_server) {
    struct drv_config plain = cfg;
    plain.no_server = 1;
    char err[1024];
    if (!(verifier = drv_start(&plain, err, sizeof err))) {
      cli_error("%s", err);
      stopped = -1;
    }
  }
  if (!stopped) stopped = run_all(o, in, jobs, ds, verifier, t, sigfd);
  if (verifier) drv_stop(verifier);
  stop_all(jobs, o->jobs);
  free(jobs);
  free(ds);
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
  } else if (o.junit && cli_junit_open() < 0) {
    cli_error("junit: temporary file: %s", strerror(errno));
    stopped = -1;
  } else {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    stopped = run(&o, &in, &t, sigfd);
    reap_orphans();
    fflush(stdout);
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
