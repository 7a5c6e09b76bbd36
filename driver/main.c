/* The forksrv CLI: a thin main over the client API. It reads like its job: parse the options, take
 * SIGINT and SIGTERM synchronously (blocked, then read from a signalfd inside the waits), list the
 * inputs, run them on the jobs (jobs.c), report. Exit status: 0 clean, 1 a crash or a timeout, 2 a
 * usage, start-up or input error, 3 a --verify mismatch, 128+N when stopped by signal N. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
    "                            to files count, not those to directories. '@@' in ARGS becomes the\n"
    "                            path of a copy of the input, named input.EXT after the input's\n"
    "                            extension, with its mode and mtime, alone in a private directory\n"
    "                            and pristine for every execution; else that copy is the target's\n"
    "                            stdin, read-only, as '< file' gives it\n"
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
    "                            in turn): N machines with I = 1..N run every input exactly once;\n"
    "                            'auto' takes I and N from GitLab CI, CircleCI, Buildkite or Slurm,\n"
    "                            'auto/N' the index from a Kubernetes Indexed Job or AWS Batch\n"
    "      --json                one JSON object per execution on stdout\n"
    "      --junit FILE          a JUnit XML report: a testcase per execution, crashes and timeouts as\n"
    "                            failures with the target's stderr\n"
    "      --crashes DIR         copy one input per distinct crash (signal, sanitizer's finding) and\n"
    "                            each timeout into DIR, with the target's stderr (NAME.stderr), a command\n"
    "                            that reproduces it (NAME.repro) and every input that ended so\n"
    "                            (NAME.inputs); DIR must be yours and writable by no one else\n"
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
    "      --reset HOW           how each execution gets a fresh target: 'fork' (default), or\n"
    "                            'snapshot': the child is put back to its fork point in place, its\n"
    "                            written pages copied back (Linux 6.7+, dynamic glibc targets; what\n"
    "                            cannot be put back gets a fresh fork); or 'auto': snapshot where\n"
    "                            each target's first 3 inputs give the direct run's outcome and\n"
    "                            output, else fork\n"
    "  -j, --jobs N              run N targets side by side, each with its own server and core\n"
    "                            (default 1); results still come in input order\n"
    "      --cpu LIST            cores to run on, e.g. 2 or 0,1 (default: cores no other process is\n"
    "                            pinned to, one per job)\n"
    "      --no-pin              do not pin to cores\n"
    "  -q, --quiet               no per-input lines and no summary\n"
    "  -v, --verbose             a line for every execution, and the lifecycle that ran\n"
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
  if (!strncmp(arg, "auto", 4) && (!arg[4] || arg[4] == '/')) {
    const char *end = arg[4] ? digits(arg + 5, UINT_MAX, &n) : (n = 0, arg + 4);
    if (!end || *end || (arg[4] && n == 0)) usage_error("--shard auto/N wants 1 <= N <= 4294967295, not '%s'", arg);
    const char *wrong = cli_shard_auto(n, &o->shard, &o->shards, &o->shard_engine);
    if (wrong) usage_error("%s", wrong);
    return;
  }
  o->shard_engine = NULL;
  const char *slash = digits(arg, UINT_MAX, &i), *end = slash && *slash == '/' ? digits(slash + 1, UINT_MAX, &n) : NULL;
  if (!end || *end || i < 1 || i > n) usage_error("--shard wants I/N with 1 <= I <= N <= 4294967295, not '%s'", arg);
  o->shard = (unsigned)i;
  o->shards = (unsigned)n;
}

static void parse_args(int argc, char **argv, struct cli_opts *o) {
  enum { OPT_JSON = 256, OPT_CRASHES, OPT_NO_SERVER, OPT_PRELOAD, OPT_STARTUP, OPT_SHOW_OUTPUT, OPT_START, OPT_CPU,
         OPT_NO_PIN, OPT_SHARD, OPT_JUNIT, OPT_VERIFY, OPT_LAZY, OPT_INPUT_NAME, OPT_RESET };
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
      {"reset", required_argument, 0, OPT_RESET},
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
    case OPT_RESET:
      if (strcmp(optarg, "fork") && strcmp(optarg, "snapshot") && strcmp(optarg, "auto"))
        usage_error("--reset is 'fork', 'snapshot' or 'auto', not '%s'", optarg);
      o->reset_auto = !strcmp(optarg, "auto");
      o->reset_snapshot = o->reset_auto || !strcmp(optarg, "snapshot");
      break;
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
  if (o->verbose && o->shard_engine) fprintf(stderr, "forksrv: --shard auto: shard %u/%u, from %s\n", o->shard, o->shards, o->shard_engine);
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
    stopped = cli_run(&o, &in, &t, sigfd);
    reap_orphans();
    if (fflush(stdout) != 0 || ferror(stdout)) {
      cli_stdout_ok();
      t.errors++;
    }
    if (stopped >= 0) cli_summary(&o, &t);
    if (o.junit && cli_junit_write(&o, (double)(drv_now_us() - t.started_us) / 1e6) < 0) t.errors++;
  }
  cli_free_inputs(&in);
  free(o.inputs);
  if (stopped > 0) return 128 + stopped;
  if (stopped < 0 || t.errors || t.fork_failed) return 2;
  if (t.mismatches) return 3;
  return t.crashed || t.timed_out ? 1 : 0;
}
