/* Where the server starts, for both libraries: the environment read once (which protocol, which
 * start point), and the start itself at whichever start point is pending. The library's own start
 * file calls in: start_preload.c (libforksrv.so: constructor, entry, main) and start_static.c
 * (libforksrv.a: .preinit_array, .init_array); the deferred start is forksrv_start_server(). With
 * no peer, or under AT_SECURE, the target runs as if forksrv were not there. */
#include "../fifo/protocol.h"
#include "server.h"

/* forksrv's own variables (fifo/protocol.h's list) come first: those are removed for the target's
 * descendants; the others are only read. */
enum { AFL_SHM_ID = FIFO_NVARS, AFL_MAP_SIZE, AFL_PERSISTENT, AFL_DEFER, LD_AUDIT, LD_BIND_NOW, NVARS };

static struct fsrv_env_var vars[NVARS] = {
    [AFL_SHM_ID] = {.name = "__AFL_SHM_ID"},
    [AFL_MAP_SIZE] = {.name = "AFL_MAP_SIZE"},
    [AFL_PERSISTENT] = {.name = "__AFL_PERSISTENT"},
    [AFL_DEFER] = {.name = "__AFL_DEFER_FORKSRV"},
    [LD_AUDIT] = {.name = "LD_AUDIT"},
    [LD_BIND_NOW] = {.name = "LD_BIND_NOW"},
};

enum protocol { NONE, NATIVE, CENTIPEDE, AFL, AFL_ONESHOT };

static struct {
  int looked;          /* the environment was read (once per process) */
  long looked_in;      /* the pid it was read in, where a server may start */
  enum protocol proto; /* what the environment asks for */
  unsigned pending;    /* the later start point that still has to come, or 0 */
  int served;          /* this process is a child of a server that started */
  char **envp;
  const char *request_entry; /* the environment's entry naming the request FIFO, as look() found it */
  char input[FSRV_PATH_MAX]; /* FORKSRV_INPUT, kept when the environment is scrubbed, or "" */
  int input_is_stdin;
  int debug;     /* FORKSRV_DEBUG=1: say why a server did not start */
  const char *call;    /* --start input: the call that touched the input */
  uint64_t shared_fds; /* --start input: the regular files open at the fork point (fifo_hello) */
  int bound_now; /* LD_BIND_NOW was set when the target started */
  int afl_ctl, afl_st; /* AFL++'s fork-server fds, where the server keeps them */
  int afl_instrumented;          /* a program built by afl-cc, served in place of its own server */
  const uint32_t *afl_final_loc; /* its last edge number, or NULL */
} self = {.afl_ctl = FSRV_AFL_CTL_FD, .afl_st = FSRV_AFL_ST_FD};

/* Whether this process is the one the driver started (or what it exec'd): not a descendant that
 * inherited the variables, such as a constructor's system(), before the server scrubbed them. */
static int is_target(void) {
  if (!vars[FIFO_VAR_TARGET_PID].found) return 1;
  long pid = 0;
  const char *p = vars[FIFO_VAR_TARGET_PID].value;
  for (; *p >= '0' && *p <= '9' && pid < 1L << 40; p++) pid = pid * 10 + (*p - '0');
  return *p == '\0' && pid == sys_getpid();
}

static void fsrv_copy(char *to, const char *from, size_t cap) {
  size_t i = 0;
  for (; from[i] && i + 1 < cap; i++) to[i] = from[i];
  to[i] = '\0';
}

static int has(int v, const char *value) { return vars[v].found && fsrv_streq(vars[v].value, value); }

static struct fsrv_afl_env afl_env(void) {
  struct fsrv_afl_env env = {
      .shm_id = vars[AFL_SHM_ID].found ? vars[AFL_SHM_ID].value : 0,
      .map_size = vars[AFL_MAP_SIZE].found ? vars[AFL_MAP_SIZE].value : 0,
      /* An instrumented program's coverage is the map: no outcome bytes go into it. */
      .outcome_map = has(FIFO_VAR_AFL_MAP, "outcome") && !self.afl_instrumented,
      .final_loc = self.afl_final_loc,
      .instrumented = self.afl_instrumented,
  };
  return env;
}

/* A program built by afl-cc carries AFL++'s own fork server, started by a constructor of its own when
 * it finds afl-fuzz's fds. forksrv takes that role: the fds are moved out of its sight before any of
 * the program's constructors run (its hello then fails, as when no fuzzer runs it), and the server
 * starts at main, after them, as AFL++'s does: each child starts with the coverage map attached. A
 * program that runs AFL++'s persistent loop or defers its server (afl-fuzz says so in
 * __AFL_PERSISTENT, __AFL_DEFER_FORKSRV) keeps its own server: it is fast already, and it parks by
 * stopping itself. Returns the protocol to speak. */
static enum protocol afl_instrumented(enum protocol proto, uint32_t *later) {
  if (proto != AFL && proto != AFL_ONESHOT) return proto;
  if (!fsrv_program_object("__afl_area_ptr")) return proto;
  /* Its coverage is the map: no outcome bytes are written into it. */
  if (proto == AFL_ONESHOT) return NONE;
  const char *kept = vars[AFL_PERSISTENT].found ? "built for AFL++'s persistent loop"
                     : vars[AFL_DEFER].found    ? "built for AFL++'s deferred start"
                                                : 0;
  int ctl = kept ? FSRV_AFL_CTL_FD : fsrv_move_up(FSRV_AFL_CTL_FD, FSRV_HIGH_FD);
  int st = ctl == FSRV_AFL_CTL_FD ? FSRV_AFL_ST_FD : fsrv_move_up(FSRV_AFL_ST_FD, ctl + 1);
  if (!kept && st == FSRV_AFL_ST_FD) { /* not moved: AFL++'s own server takes them */
    if (ctl != FSRV_AFL_CTL_FD && sys_dup3(ctl, FSRV_AFL_CTL_FD, 0) >= 0) sys_close(ctl);
    kept = "whose fork-server fds could not be moved (RLIMIT_NOFILE)";
  }
  if (kept) {
    if (fsrv_reset_snapshot()) {
      const char *parts[] = {"forksrv: warning: a program ", kept,
                             " keeps AFL++'s own fork server: FORKSRV_RESET=snapshot does not apply", 0};
      fsrv_say_line(parts);
    }
    return NONE;
  }
  self.afl_ctl = ctl;
  self.afl_st = st;
  self.afl_instrumented = 1;
  self.afl_final_loc = fsrv_program_object("__afl_final_loc");
  /* After the program's constructors, where the map is attached and counted, whatever start point
   * was asked for, unless the program calls forksrv_start() itself. */
  if (*later != FIFO_START_DEFERRED) *later = FIFO_START_MAIN;
  return AFL;
}

/* The variable naming the FIFO requests come on, in forksrv's own protocol or Centipede's. */
static const struct fsrv_env_var *request_var(void) {
  return &vars[self.proto == NATIVE ? FIFO_VAR_REQUEST : FIFO_VAR_CENTIPEDE_IN];
}

/* The driver's LD_BIND_NOW (it says so in FORKSRV_BIND_NOW) has done its work in this process: the
 * target's descendants bind as they would without forksrv. */
static void scrub_bind_now(char **envp, int spoil) {
  static struct fsrv_env_var bind_now = {.name = "LD_BIND_NOW"};
  if (vars[FIFO_VAR_BIND_NOW].found) fsrv_env_scrub(envp, &bind_now, 1, spoil);
}

/* Reads the environment once and decides which protocol, if any, and which start point. */
static void look(char **envp, unsigned early) {
  if (self.looked) return;
  self.looked = 1;
  self.envp = envp;
  for (unsigned v = 0; v < FIFO_NVARS; v++) vars[v].name = fifo_var_name(v);
  if (fsrv_at_secure() || fsrv_env_read(vars, NVARS) < 0) return;
  self.debug = has(FIFO_VAR_DEBUG, "1");
  self.bound_now = vars[LD_BIND_NOW].found && vars[LD_BIND_NOW].value[0];
  struct fsrv_afl_env env = afl_env();
  if (vars[FIFO_VAR_REQUEST].found && vars[FIFO_VAR_REPLY].found)
    self.proto = NATIVE;
  else if (vars[FIFO_VAR_CENTIPEDE_IN].found && vars[FIFO_VAR_CENTIPEDE_OUT].found)
    self.proto = CENTIPEDE;
  else if (fsrv_afl_present())
    self.proto = AFL;
  else if (fsrv_afl_oneshot_wanted(&env))
    self.proto = AFL_ONESHOT;
  if (self.proto == NATIVE && !is_target()) {
    /* It binds as the target's descendants do once the server scrubs the driver's LD_BIND_NOW. */
    scrub_bind_now(envp, 1);
    self.proto = NONE;
  }
  if (self.proto == NONE) return;
  uint32_t later = vars[FIFO_VAR_START].found ? fifo_start_named(vars[FIFO_VAR_START].value) : 0;
  self.proto = afl_instrumented(self.proto, &later);
  if (self.proto == NONE) return;
  self.pending = later == FIFO_START_MAIN || later == FIFO_START_DEFERRED ? later : early;
  self.looked_in = sys_getpid();
  if (self.proto == NATIVE && vars[FIFO_VAR_INPUT].found && !vars[FIFO_VAR_INPUT].too_long) {
    fsrv_copy(self.input, vars[FIFO_VAR_INPUT].value, sizeof self.input);
    self.input_is_stdin = has(FIFO_VAR_INPUT_STDIN, "1");
  }
  /* The input start point needs its hooks (libforksrv_input.so) and forksrv's own protocol. */
  if (later == FIFO_START_INPUT && self.input[0]) self.pending = FIFO_START_INPUT;
  if (self.proto == NATIVE || self.proto == CENTIPEDE) self.request_entry = fsrv_env_entry(envp, request_var()->name);
}

/* A fork taken with threads alive keeps only the forking thread in the child: say so, once. The
 * hello tells forksrv's driver the same. */
static void warn_threads(long n) {
  if (n <= 1) return;
  static const char *const line[] = {
      "forksrv: warning: threads are running where the fork server starts; each child keeps only the "
      "thread that forked, so inputs may misbehave (start the server before threads are created)",
      0};
  fsrv_say_line(line);
}

static void send_notice(long rep, const struct fifo_notice *n) {
  unsigned char buf[FIFO_NOTICE_SIZE];
  fifo_encode_notice(buf, n);
  fsrv_write_full((int)rep, buf, sizeof buf);
}

/* The server may not start here: the driver learns why from a notice on the reply FIFO, in place of
 * the hello, and the target ends. */
static __attribute__((noreturn)) void refuse(unsigned code, unsigned start, const char *call) {
  struct fsrv_why why = {0, 0};
  long rep = fsrv_open_fifo(vars[FIFO_VAR_REPLY].value, O_WRONLY, &why);
  if (rep >= 0) {
    struct fifo_notice n = {.code = code, .pid = (int32_t)sys_getpid(), .start = start};
    for (unsigned i = 0; call && call[i] && i + 1 < FIFO_CALL_MAX; i++) n.call[i] = call[i];
    send_notice(rep, &n);
  }
  sys_exit_group(FIFO_REFUSED_EXIT);
}

/* No server: said for people, and under forksrv's own protocol told to the driver on the reply FIFO
 * (rep, or opened here: -1), unless that FIFO is what failed. Returns 0: the target runs on. */
static int not_started(const struct fsrv_why *why, const char *object, long err, long rep, unsigned start) {
  fsrv_say(self.debug, why, object, err);
  if (self.proto != NATIVE || why->cause == FIFO_CAUSE_ONE_FIFO || why->cause == FIFO_CAUSE_NO_READER) return 0;
  long own = -1;
  if (rep < 0 && !vars[FIFO_VAR_REPLY].too_long) {
    struct fsrv_why ignored = {0, 0};
    rep = own = fsrv_open_fifo(vars[FIFO_VAR_REPLY].value, O_WRONLY, &ignored);
  }
  if (rep >= 0) {
    int carries = why->cause == FIFO_CAUSE_OPEN || why->cause == FIFO_CAUSE_SETUP || why->cause == FIFO_CAUSE_SYSCALL;
    struct fifo_notice n = {.code = FIFO_NOTICE_NOT_STARTED, .pid = (int32_t)sys_getpid(), .start = start,
                            .cause = why->cause, .error = carries ? (int32_t)(err < 0 ? err : -EINVAL) : 0};
    send_notice(rep, &n);
  }
  if (own >= 0) sys_close((int)own);
  return 0;
}

/* A start point later than the entry, where the target's own code has run: if that code read the
 * input (all of it the empty file there is before the first request), every child would go on with
 * what it read. The driver gave the file an atime no read leaves (FIFO_UNREAD_ATIME). */
static int read_early(void) {
  struct statx st;
  if (!self.input[0] || sys_statx(SYS_AT_FDCWD, self.input, 0, STATX_ATIME, &st) < 0) return 0;
  return (st.stx_mask & STATX_ATIME) && st.stx_atime.tv_sec != FIFO_UNREAD_ATIME;
}

static const char *start_name(unsigned start) {
  return start == FIFO_START_MAIN ? "main" : start == FIFO_START_INPUT ? "the first touch of the input" : "forksrv_start()";
}

/* Whether this process is a child that another copy's server forked (the linked-in and the preloaded
 * copy in one program): not the process the environment was read in, but made as every server's
 * child is (run.c): that process's child, in a group of its own, to be killed with its parent. The
 * copy's other check, its spoiled variable, fails where the program wrote over its environment's
 * strings (to retitle itself), and AFL++'s protocol has none. A child the program forked itself
 * before its start point is not one, unless it made itself so (a supervisor's child); a server it
 * starts is named by the driver as a descendant's. */
static int in_a_servers_child(void) {
  long pid = sys_getpid();
  int deathsig = 0;
  return pid != self.looked_in && sys_getppid() == self.looked_in && sys1(__NR_getpgid, 0) == pid &&
         sys_prctl(SYS_PR_GET_PDEATHSIG, (long)&deathsig, 0) == 0 && deathsig == SYS_SIGKILL;
}

/* The driver's variables out of the environment, for the target's descendants (spoil: see
 * fsrv_env_scrub). */
static void scrub(char **envp, int spoil) {
  fsrv_env_scrub(envp, vars, FIFO_NVARS, spoil);
  scrub_bind_now(envp, spoil);
}

/* Starts the server at start point `start` if that is the one pending. Returns 1 in each child of a
 * server that started, 0 if none did (then the target simply runs on). */
int fsrv_served(void) { return self.served; }

int fsrv_serve(unsigned start) {
  if (self.served) return 1;
  if (self.proto == NONE || self.pending != start) return 0;
  self.pending = 0;
  /* libforksrv.a linked in and libforksrv.so preloaded too, both waiting for main: the copy that
   * started first serves, and this one, which read the variables before, stands down in that
   * server's children. The spoiled name first: it costs no system call. */
  if (self.request_entry && fsrv_env_spoiled(self.request_entry, request_var()->name)) return 0;
  if (in_a_servers_child()) return 0;
  if ((start == FIFO_START_MAIN || start == FIFO_START_INPUT || start == FIFO_START_DEFERRED) && read_early()) {
    const char *parts[] = {"forksrv: warning: the target read its input before ", start_name(start),
                           ", where the server would fork; starting it at its entry instead", 0};
    fsrv_say_line(parts);
    refuse(FIFO_NOTICE_READ_EARLY, start, 0);
  }
  /* A program that changed its environment before a later start point (a setenv, or a retitle that
   * moves it to a copy, as setproctitle does) has another array, which its descendants get: that one
   * first, since its strings may be the first array's, which the scrub spoils, and without spoiling
   * any (they may be the program's own constants). */
  char ***environ_now = fsrv_global_object("environ");
  if (environ_now && *environ_now && *environ_now != self.envp) scrub(*environ_now, 0);
  scrub(self.envp, 1);
  fsrv_resolve_before_forking();
  static struct fsrv s;
  s.reset_snapshot = fsrv_reset_snapshot(); /* each protocol decides what it can offer of it */
  long r;
  struct fsrv_why setup = {FIFO_CAUSE_SETUP, 0};
  const char *setup_object = "(needs glibc and Linux 5.3 or later)";
  self.served = 1; /* as seen from the children */
  if (self.proto == AFL || self.proto == AFL_ONESHOT) {
    int afl = self.proto == AFL;
    r = fsrv_setup(&s, afl ? self.afl_ctl : -1, afl ? self.afl_st : -1, start, 0);
    if (r < 0) return self.served = not_started(&setup, setup_object, r, -1, start);
    warn_threads(s.threads);
    struct fsrv_afl_env env = afl_env();
    if (afl)
      fsrv_afl_loop(&s, &env);
    else
      fsrv_afl_oneshot(&s, &env);
    return 1;
  }

  const struct fsrv_env_var *in = request_var();
  const struct fsrv_env_var *out = &vars[self.proto == NATIVE ? FIFO_VAR_REPLY : FIFO_VAR_CENTIPEDE_OUT];
  struct fsrv_why why = {FIFO_CAUSE_TOO_LONG, 0};
  if (in->too_long) return self.served = not_started(&why, in->name, 0, -1, start);
  if (out->too_long) { /* the reply FIFO is the channel: nothing can be told on it */
    fsrv_say(self.debug, &why, out->name, 0);
    return self.served = 0;
  }
  long req = fsrv_open_fifo(in->value, O_RDONLY, &why);
  if (req < 0) return self.served = not_started(&why, in->value, req, -1, start);
  long rep = fsrv_open_fifo(out->value, O_WRONLY, &why);
  if (rep < 0) {
    /* The reply FIFO is the channel: nothing can be told on it. */
    fsrv_say(self.debug, &why, out->value, rep);
    sys_close((int)req);
    return self.served = 0;
  }
  /* A pair that cannot work (one FIFO for both ends, or no peer to write requests) would end the
   * target at its first read, without main: it runs as it would without forksrv instead. */
  int first;
  why.call = 0;
  why.cause = fsrv_same_fifo((int)req, (int)rep)            ? FIFO_CAUSE_ONE_FIFO
              : !fsrv_fifo_has_writer((int)req, &first) ? FIFO_CAUSE_NO_WRITER
                                                        : 0;
  if (!why.cause) {
    r = fsrv_setup(&s, (int)req, (int)rep, start, self.proto == NATIVE);
    if (r >= 0) {
      warn_threads(s.threads);
      s.hello_flags = self.bound_now ? FIFO_HELLO_BIND_NOW : 0;
      s.call = self.call;
      s.shared_fds = self.shared_fds;
      if (self.proto == NATIVE)
        fsrv_native_loop(&s, first);
      else
        fsrv_centipede_loop(&s, has(FIFO_VAR_CENTIPEDE_ACK, "1"), first);
      return 1;
    }
  }
  if (why.cause)
    not_started(&why, in->value, 0, rep, start);
  else
    not_started(&setup, setup_object, r, rep, start);
  sys_close((int)req);
  sys_close((int)rep);
  return self.served = 0;
}

/* The earliest start point, from the library's own start file: look at the environment, and start
 * there unless a later start point is pending. */
void fsrv_early(char **envp) {
  look(envp, fsrv_early_start);
  /* The snapshot's exit handler before any a library's constructor registers straight with libc (a
   * program with the server linked in interposes no call of theirs): it must run last. */
  if (fsrv_reset_snapshot()) fsrv_snapshot_hook_exit();
  if (self.pending == fsrv_early_start && fsrv_program_enters_here()) self.pending = FIFO_START_ENTRY;
  fsrv_serve(fsrv_early_start);
}

unsigned fsrv_pending(void) { return self.pending; }
int fsrv_audited(void) { return vars[LD_AUDIT].found; }
int fsrv_reset_snapshot(void) { return has(FIFO_VAR_RESET, "snapshot"); }
int fsrv_reset_snapshot_maybe(void) { return !self.looked || fsrv_reset_snapshot(); }

/* The deferred start: the target calls this (through forksrv.h's forksrv_start()) once its own
 * set-up is done. Idempotent; returns whether a server ran (1 in each of its children). */
__attribute__((visibility("default"))) int forksrv_start_server(void) {
  look(0, fsrv_early_start);
  return fsrv_serve(FIFO_START_DEFERRED);
}

/* The input start point (libforksrv_input.so, through start_preload.c): the input file the target is
 * waiting to touch, or NULL; a refusal at the first touch; the start inside it. */
const char *fsrv_input_wanted(int *is_stdin) {
  if (self.pending != FIFO_START_INPUT || self.served) return 0;
  *is_stdin = self.input_is_stdin;
  return self.input;
}

void fsrv_refuse_input(unsigned code, const char *call) { refuse(code, FIFO_START_INPUT, call); }

int fsrv_serve_input(const char *call, uint64_t shared_fds) {
  self.call = call;
  self.shared_fds = shared_fds;
  return fsrv_serve(FIFO_START_INPUT);
}

/* Persistent mode: while (forksrv_loop(N)) { one input } runs up to N inputs in one child. Between
 * two inputs the child tells the server and parks until the server sends it the next one (fresh
 * children replace any that crashed or timed out). The last of the N inputs ends with the process
 * itself. Without a server: one input, as without forksrv. Through forksrv.h's forksrv_loop(). */
__attribute__((visibility("default"))) int forksrv_loop_server(unsigned n) {
  static unsigned calls;
  if (++calls == 1) return 1;
  /* Snapshot reset: the input is done, and the child is put back to the fork point, where this
   * counter is still 0; if it cannot be, it ends, which reports the input. */
  if (fsrv_snapshot_child()) {
    fsrv_snapshot_end(0, 1);
    sys_exit_group(0);
  }
  if (!fsrv_served() || !fsrv_current || (n && calls > n)) return 0;
  /* Snapshot reset asked for, in a child that records none (it could not, or it runs an input again
   * after a retry, or the kernel has no snapshot reset): one input, as a fresh fork has. Inputs run
   * one after another in one process would be persistent mode, which nobody asked for. */
  if (fsrv_current->reset_snapshot) return 0;
  return fsrv_persist_next(fsrv_current);
}
