/* AFL++'s fork-server protocol, so that afl-fuzz and its tools drive a target through
 * AFL_PRELOAD=libforksrv.so, instrumented or not: the new model to AFL++ 4.20c and later, the old one
 * to 4.04c, told apart by the first word the client answers (handshake below; an instrumented
 * program's hello is the old model's, which both accept, to tell its map size). afl-fuzz rewrites the
 * test case through the file offset it shares with every child, so the server never reads fd 0, and
 * kills a timed-out child itself. No shared-memory test cases: they ran no faster than afl-fuzz's
 * file. FORKSRV_RESET=snapshot puts a child back in place after each input it ends by exiting. */
#include "../fifo/protocol.h"
#include "server.h"

#define AFL_DEFAULT_MAP_SIZE 65536u
/* The new model (AFL++'s include/types.h): "AFL" and the version, little-endian; the options word
 * and the map size that follows it. */
#define AFL_HELLO_V1 0x41464c01u
#define AFL_OPT_MAPSIZE 0x00000001u
/* The old model's hello with options (AFL++'s include/config.h): enabled, and the map size. */
#define AFL_OLD_ENABLED 0x80000001u
#define AFL_OLD_MAPSIZE 0x40000000u
#define AFL_OLD_MAX_MAPSIZE ((0x00fffffeu >> 1) + 1)

/* Outcome "coverage": one map byte per distinct outcome, so that AFL++'s tools, which compare maps,
 * tell outcomes apart. Exit code c is byte 1 + c, signal n is byte 257 + n. */
#define OUTCOME_BYTES 322u

static int is_pipe_end(int fd, int accmode) {
  struct statx st;
  long fl = sys_fcntl(fd, F_GETFL, 0);
  return fl >= 0 && (fl & O_ACCMODE) == accmode && sys_fstat(fd, &st) == 0 && (st.stx_mode & S_IFMT) == S_IFIFO;
}

int fsrv_afl_present(void) { return is_pipe_end(FSRV_AFL_CTL_FD, O_RDONLY) && is_pipe_end(FSRV_AFL_ST_FD, O_WRONLY); }

static long number(const char *s) {
  long n = 0;
  if (!s || !*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || n > 0x7fffffff / 10) return -1;
    n = n * 10 + (*s - '0');
  }
  return n;
}

static int write_word(int fd, uint32_t w) { return fsrv_write_full(fd, &w, 4) == 4; }

/* A parked snapshot child sent on, on one CPU: the server lets it run first, and where its input
 * has ended (with its put-back) by the time the server runs again, afl-fuzz, which waits for the pid,
 * gets the pid and the status in one write and wakes once. 1 if the pid was told now, 0 if later. */
static int tell_pid(struct fsrv *s, int pid, int parked) {
  if (parked && s->snapshot_child && s->persist.one_cpu) {
    sys0(__NR_sched_yield);
    if (fsrv_parked_spoke(s)) return 0;
  }
  if (!write_word(s->rep, (uint32_t)pid)) fsrv_peer_gone(s, pid);
  return 1;
}

static unsigned char *outcome_map(const struct fsrv_afl_env *env) {
  long map_size = env->map_size ? number(env->map_size) : AFL_DEFAULT_MAP_SIZE;
  long id = number(env->shm_id);
  if (!env->outcome_map || id < 0 || map_size < (long)OUTCOME_BYTES) return 0;
  long at = sys_shmat((int)id, 0);
  return at < 0 && at > -4096 ? 0 : (unsigned char *)at;
}

static void mark_outcome(unsigned char *map, int status) {
  int sig = status & 0x7f;
  if (map) map[sig ? 257 + sig : 1 + ((status >> 8) & 0xff)] = 1;
}

int fsrv_afl_oneshot_wanted(const struct fsrv_afl_env *env) { return env->outcome_map && env->shm_id; }

/* afl-showmap on a single input runs the target by plain fork+exec, with no fork-server fds: then
 * the target forks once, so that its outcome can be marked in the map, and ends the way its child
 * ended, by the same exit code or the same signal. */
void fsrv_afl_oneshot(struct fsrv *s, const struct fsrv_afl_env *env) {
  unsigned char *map = outcome_map(env);
  long pid = fsrv_fork(s);
  if (pid <= 0) return; /* the child, or no fork: run the target here, unmarked */
  struct fsrv_exec ex;
  fsrv_await(s, (int)pid, 0, 0, &ex);
  if (ex.wait_error) sys_exit_group(127);
  mark_outcome(map, ex.status);
  int sig = ex.status & 0x7f;
  if (sig) {
    struct sys_sigaction dfl = {0, 0, 0, 0};
    uint64_t bit = 1ull << (sig - 1);
    sys_sigaction(sig, &dfl, 0);
    sys_sigprocmask(1 /* SIG_UNBLOCK */, &bit, 0);
    sys_kill(s->pid, sig);
    sys_exit_group(128 + sig);
  }
  sys_exit_group((ex.status >> 8) & 0xff);
}

/* Both models open with the target's hello. AFL++ 4.20c and later answer the new model's versioned
 * hello with its complement, then read the options and the hello again. 4.04c knows only the old
 * model, where any hello without FS_OPT_ENABLED (0x80000001) is one without options: it goes on to
 * its first request, a was-killed word of 0 or 1, which no complement equals. So the first word back
 * decides, and an old client's is kept as its first request. 1 if *first holds one, 0 if not. */
static int handshake(struct fsrv *s, const struct fsrv_afl_env *env, uint32_t *first) {
  long size = env->map_size ? number(env->map_size) : AFL_DEFAULT_MAP_SIZE;
  /* An instrumented program's own map, as AFL++'s server in it would tell (afl-fuzz then compares no
   * more of the map than the edges there are). Its runtime counts from 0, and may have counted the
   * last one in already: one more is never too few. */
  if (env->final_loc && *env->final_loc) size = (long)*env->final_loc + 1;
  if (size <= 0) size = AFL_DEFAULT_MAP_SIZE; /* what either model's client takes when told nothing */
  /* An instrumented program's map size must reach every afl-fuzz: one before 4.20c knows only the old
   * model, and without its options takes an 8 MiB map (a third of the speed), and nothing in the
   * environment tells the two apart for certain. So it is told the old way, as AFL++'s own runtime
   * before 4.20c does, which 4.20c and later accept, with their one line about the old model. */
  if (env->instrumented && size > 1 && size <= (long)AFL_OLD_MAX_MAPSIZE) {
    if (!write_word(s->rep, AFL_OLD_ENABLED | AFL_OLD_MAPSIZE | (uint32_t)(size - 1) << 1)) fsrv_peer_gone(s, 0);
    return 0;
  }
  uint32_t answer;
  if (!write_word(s->rep, AFL_HELLO_V1) || fsrv_read_full(s->req, &answer, 4) != 4) fsrv_peer_gone(s, 0);
  if (answer != ~AFL_HELLO_V1) {
    *first = answer;
    return 1;
  }
  if (!write_word(s->rep, AFL_OPT_MAPSIZE) || !write_word(s->rep, (uint32_t)size) || !write_word(s->rep, AFL_HELLO_V1))
    fsrv_peer_gone(s, 0);
  return 0;
}

/* For people (afl-fuzz shows the target's stderr under AFL_DEBUG_CHILD=1): why snapshot reset is off,
 * or what a child did that could not be put back, each cause once. */
static void say_off(const char *what, const char *why) {
  const char *parts[] = {"forksrv: warning: ", what, why ? ": " : "", why ? why : "", ": each input gets a fresh fork", 0};
  fsrv_say_line(parts);
}

/* FORKSRV_RESET=snapshot: each fresh child records its state, and parks (persist.c's eventfds) after
 * an input that ends by exiting, while it is put back; the server tells afl-fuzz the exit status. */
static void snapshot_setup(struct fsrv *s) {
  if (!s->reset_snapshot) return;
  if (s->persist.loop_fd < 0 || fsrv_persist_slot(s) < 0) {
    say_off("snapshot reset could not make its eventfds or its page shared with the server", 0);
    return;
  }
  unsigned why = fsrv_snapshot_probe();
  if (why) say_off(fifo_snapshot_off_text(why), 0);
  s->snapshot = !why;
}

/* A snapshot child has ended (its input's outcome, a discard, or afl-fuzz's kill): what its slot says. */
static void snapshot_ended(struct fsrv *s) {
  static uint32_t said;
  struct fsrv_slot *slot = s->persist.slot;
  if (slot->record_failure) {
    say_off("snapshot reset could not record the state at the fork point", fifo_record_text(slot->record_failure));
    s->snapshot = 0;
  }
  if (slot->discard && slot->discard < 32 && !(said & 1u << slot->discard)) {
    said |= 1u << slot->discard;
    const char *parts[] = {"forksrv: note: a snapshot child ", fifo_discard_text(slot->discard),
                           ": the next input gets a fresh fork (said once)", 0};
    fsrv_say_line(parts);
  }
  slot->record_failure = slot->discard = 0;
}

void fsrv_afl_loop(struct fsrv *s, const struct fsrv_afl_env *env) {
  unsigned char *map = outcome_map(env);
  long shm = number(env->shm_id);
  if (shm >= 0) s->fuzzer_shm = shm;
  uint32_t was_killed;
  fsrv_persist_setup(s);
  int have_request = handshake(s, env, &was_killed);
  snapshot_setup(s);
  /* A persistent child parked after its input (afl-fuzz is told it stopped, as in AFL++'s own model),
   * or a snapshot child put back in place (afl-fuzz is told how its input ended), and whether that one
   * said it is ready for the next. */
  int live = 0, ready = 0;
  for (;;) {
    if (!have_request && fsrv_read_full(s->req, &was_killed, 4) != 4) fsrv_peer_gone(s, live);
    have_request = 0;
    if (live && was_killed) {
      /* afl-fuzz's timeout struck as the child said its input was done: it is killed again with
       * SIGKILL (afl-fuzz's AFL_KILL_SIGNAL may be one a parked child blocks) and reaped, and what it
       * wrote in between (a snapshot child's ready word) must not reach the next child's turn. */
      int st;
      struct rusage ru;
      fsrv_kill_child(live);
      fsrv_reap(s, live, &st, &ru);
      uint64_t stale;
      sys_read(s->persist.loop_fd, &stale, sizeof stale);
      if (s->snapshot_child) snapshot_ended(s);
      live = 0;
    }
    if (live && s->snapshot_child && !ready && !fsrv_parked_ready(s, live)) {
      snapshot_ended(s);
      live = 0;
    }
    /* Stored only when it changes: each store after a fork costs the server a fault. */
    if (!live && s->snapshot_child != s->snapshot) s->snapshot_child = s->snapshot;
    long pid = fsrv_next_child(s, live);
    if (pid == 0) {
      if (s->snapshot_child) fsrv_snapshot_take(s);
      return;
    }
    int parked = live != 0;
    live = ready = 0;
    /* AFL++'s protocol has no word for a failed fork: its own server gives up, and so does this one;
     * afl-fuzz then reports the fork server's end. */
    if (pid < 0) fsrv_peer_gone(s, 0);
    int told = tell_pid(s, (int)pid, parked);
    struct fsrv_exec ex;
    fsrv_await(s, (int)pid, 0, 0, &ex);
    /* AFL++'s protocol has no word for a child that cannot be waited for: a status would be a lie. */
    if (ex.wait_error) fsrv_peer_gone(s, 0);
    int status = ex.status;
    if (!ex.stopped) fsrv_drop_unused_go(s);
    if (s->snapshot_child) {
      /* The input ended by exiting, with the code the child said, whether or not the child could be
       * put back after it. */
      uint64_t done = ex.done & FSRV_PARK_DONE_MASK;
      if (!done && !ex.stopped) done = s->persist.slot->park_done; /* it ended during its put-back */
      s->persist.slot->park_done = 0;
      if (done) status = (int)((done - FSRV_PARK_DONE) & 0xff) << 8;
      if (ex.stopped) live = (int)pid;
      else snapshot_ended(s);
      ready = (ex.done & FSRV_PARK_READY) != 0;
      mark_outcome(map, status);
    } else if (ex.stopped) {
      live = (int)pid;
      mark_outcome(map, 0);
    } else {
      mark_outcome(map, ex.status);
    }
    /* A stopped child's status (WIFSTOPPED) tells afl-fuzz that the same child goes on. */
    uint32_t words[2] = {(uint32_t)pid, (uint32_t)status};
    long n = told ? 4 : 8;
    if (fsrv_write_full(s->rep, words + (told ? 1 : 0), (size_t)n) != n) fsrv_peer_gone(s, live);
  }
}
