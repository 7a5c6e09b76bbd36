/* -j: the jobs that run the inputs, each a thread with its own targets (and so its own servers),
 * pinned to a core of its own where there are free ones. Inputs go to whichever job is free; results
 * are reported in input order through a window of pending ones, so that -j N prints what -j 1 does.
 * A signal (the signalfd) or a job's error stops every job's wait at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "pin.h"

static int signal_taken(int sigfd) {
  struct signalfd_siginfo si;
  return read(sigfd, &si, sizeof si) == (ssize_t)sizeof si ? (int)si.ssi_signo : 0;
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
  char *plain_out, *plain_err; /* --reset auto: the direct run's */
  size_t plain_out_len, plain_err_len;
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
  size_t plain_len = slurp(plain_fd, &plain), at = cli_output_differs(served, served_len, plain, plain_len);
  if (at != (size_t)-1)
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
int cli_stdout_ok(void) {
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
    int failed = p->write_failed || !cli_stdout_ok();
    free(p->stderr_tail);
    free(p->output_diff);
    *p = (struct pending){0};
    cli_progress(s->t);
    if (failed) stop_run(s, -1);
  }
}

/* --reset auto: each target's first AUTO_CHECKS inputs under snapshot reset run directly first (by
 * plain fork+exec), and then under the server; one whose outcome or output differs (compared as
 * --verify compares) turns that target to fork, and runs again there. Said in one line, once. */
#define AUTO_CHECKS 3

static void auto_say(struct run_state *s, const char *fmt, const char *a, const char *b, const char *c) {
  static int said[2]; /* the snapshot line, a fork line: a target that turns to fork is said once */
  pthread_mutex_lock(&s->lock);
  if (!said[fmt[0] != 's']++ && !s->o->quiet) {
    cli_progress_clear();
    fprintf(stderr, "forksrv: reset: ");
    fprintf(stderr, fmt, a, b, c);
    fputc('\n', stderr);
  }
  pthread_mutex_unlock(&s->lock);
}

/* The target forks from now on, for the reason said. */
static int auto_fork(struct job *j, struct drv **d) {
  char why[1024];
  struct cli_auto *a;
  if (!(*d = cli_target_fork(&j->targets, *d, why, sizeof why))) return stop_reason(why);
  if ((a = cli_target_auto(&j->targets, *d))) a->checked = AUTO_CHECKS, a->fork_next = 0;
  return 0;
}

static int auto_run(struct job *j, struct drv **d, const char *name, size_t len, struct pending *p) {
  struct run_state *s = j->s;
  struct cli_auto *a = cli_target_auto(&j->targets, *d);
  if (a && a->fork_next) {
    int rc = auto_fork(j, d);
    if (rc) return rc;
    if (name) drv_input_attrs(*d, j->mode, j->mtime);
    a = NULL;
  }
  if (!a || a->checked >= AUTO_CHECKS || strcmp(drv_reset(*d), "snapshot")) {
    if (a && a->checked < AUTO_CHECKS) {
      a->checked = AUTO_CHECKS;
      auto_say(s, "%s%s%s", drv_reset(*d), "", "");
    }
    return drv_run(*d, j->buf, len, &p->r) < 0 ? stop_reason(drv_error(*d)) : 0;
  }
  struct drv_result plain;
  if (drv_run_plain(*d, j->buf, len, &plain) < 0) return stop_reason(drv_error(*d));
  j->plain_out_len = slurp(drv_stdout_fd(*d), &j->plain_out);
  j->plain_err_len = slurp(drv_stderr_fd(*d), &j->plain_err);
  if (drv_run(*d, j->buf, len, &p->r) < 0) return stop_reason(drv_error(*d));
  /* A snapshot that could not be recorded has turned to fork already, and said why. */
  if (strcmp(drv_reset(*d), "snapshot")) {
    a->checked = AUTO_CHECKS;
    return 0;
  }
  j->out_len = slurp(drv_stdout_fd(*d), &j->out);
  j->err_len = slurp(drv_stderr_fd(*d), &j->err);
  char served[64], direct[64], shown[4096];
  const char *stream = !cli_same_outcome(&p->r, &plain) ? NULL
                       : cli_output_differs(j->out, j->out_len, j->plain_out, j->plain_out_len) != (size_t)-1 ? "stdout"
                       : cli_output_differs(j->err, j->err_len, j->plain_err, j->plain_err_len) != (size_t)-1 ? "stderr"
                                                                                                            : "";
  if (stream && !*stream) {
    /* A child is kept only past an input that ended normally: one that crashed is no discard. */
    a->could += a->last_exited;
    a->kept += a->last_exited && p->r.pid == a->last_pid;
    a->last_pid = p->r.pid;
    a->last_exited = p->r.outcome == DRV_EXITED;
    if (++a->checked < AUTO_CHECKS) return 0;
    /* A child discarded after every input costs a recording each time, more than a fork: the next
     * input forks (this one's result and output stand). */
    if (a->could && !a->kept) {
      auto_say(s, "fork: snapshot reset could not keep its child past any of the first %s inputs (the warning says why)%s%s",
               "3", "", "");
      a->fork_next = 1;
      return 0;
    }
    auto_say(s, "snapshot: the first %s inputs gave the direct run's outcome and output%s%s", "3", "", "");
    return 0;
  }
  snprintf(shown, sizeof shown, "%s", name ? name : "the input");
  if (stream)
    auto_say(s, "fork: under snapshot reset, %s's %s differs from the direct run's%s", shown, stream, "");
  else
    auto_say(s, "fork: under snapshot reset, %s %s; run directly, %s", shown, cli_outcome_text(&p->r, served, sizeof served),
             cli_outcome_text(&plain, direct, sizeof direct));
  int rc = auto_fork(j, d);
  if (rc) return rc;
  if (name) drv_input_attrs(*d, j->mode, j->mtime);
  return drv_run(*d, j->buf, len, &p->r) < 0 ? stop_reason(drv_error(*d)) : 0;
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
  if (o->reset_auto && !o->no_server) {
    int rc = auto_run(j, &d, name, len, p);
    if (rc) return rc;
  } else if (drv_run(d, j->buf, len, &p->r) < 0) {
    return stop_reason(drv_error(d));
  }
  p->kind = 1;
  if ((p->r.warning || p->r.discarded) && !o->quiet) {
    pthread_mutex_lock(&s->lock);
    cli_progress_clear();
    if (p->r.warning) fprintf(stderr, "forksrv: warning: %s; each input gets a fresh fork from now on\n", p->r.warning);
    if (p->r.discarded) fprintf(stderr, "forksrv: warning: %s; the input after it gets a fresh fork\n", p->r.discarded);
    pthread_mutex_unlock(&s->lock);
  }
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
    if (o->crashes && failed && cli_save_crash(o, name, j->buf, len, drv_stderr_fd(d), &p->r) < 0) {
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
    free(jobs[k].plain_out);
    free(jobs[k].plain_err);
  }
}

/* Starts the targets (each pinned to its core, which its server and children inherit, and which its
 * job's thread then runs on), runs the inputs and stops them; returns as run_all does, or -1 when
 * start-up failed. */
int cli_run(const struct cli_opts *o, const struct cli_inputs *in, struct cli_tally *t, int sigfd) {
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
  t->started_us = drv_now_us();
  if (!stopped) stopped = run_all(o, in, jobs, t, sigfd, stop_fd);
  if (jobs) stop_all(jobs, o->jobs);
  free(jobs);
  close(cancel_fd);
  close(stop_fd);
  return stopped;
}
