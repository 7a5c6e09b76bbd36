/* Where the server starts. libforksrv.so: by default at the program's entry, once libc has started
 * (after every library's constructor, its own among them), in the main its own __libc_start_main
 * hands glibc, where each child runs the program's own initialisers and then its main; or in its
 * constructor if the program will not call __libc_start_main; with FORKSRV_START=main,
 * just before the target's main, through the same __libc_start_main. libforksrv.a (built with
 * -DFSRV_PREINIT): a .preinit_array entry (the default), or with FORKSRV_START=main an .init_array
 * entry, after the constructors linked before it. Both: forksrv_start_server(), called by the target
 * itself after its set-up, when the driver found the deferred-start signature and said
 * FORKSRV_START=deferred. The server speaks forksrv's own protocol when the driver's variables are
 * set, else Centipede's when Centipede's are, else AFL++'s when afl-fuzz's fds 198 and 199 are open
 * pipes. With none of these, or under AT_SECURE, nothing happens and the target runs as if forksrv
 * were not there; when a server does start, it returns only in each forked child. */
#include "../fifo/protocol.h"
#include "server.h"

/* forksrv's own variables come first: those are removed for the target's descendants; AFL++'s are
 * only read. */
enum { REQUEST, REPLY, DEBUG, CENTIPEDE_IN, CENTIPEDE_OUT, CENTIPEDE_ACK, AFL_MAP, START, INPUT, INPUT_STDIN,
       BIND_NOW, TARGET_PID, NOURS,
       AFL_SHM_ID = NOURS, AFL_MAP_SIZE, LD_AUDIT, NVARS };

static struct fsrv_env_var vars[NVARS] = {
    [REQUEST] = {.name = FIFO_ENV_REQUEST},
    [REPLY] = {.name = FIFO_ENV_REPLY},
    [DEBUG] = {.name = FIFO_ENV_DEBUG},
    [CENTIPEDE_IN] = {.name = FIFO_ENV_CENTIPEDE_IN},
    [CENTIPEDE_OUT] = {.name = FIFO_ENV_CENTIPEDE_OUT},
    [CENTIPEDE_ACK] = {.name = FIFO_ENV_CENTIPEDE_ACK},
    [AFL_MAP] = {.name = FIFO_ENV_AFL_MAP},
    [START] = {.name = FIFO_ENV_START},
    [INPUT] = {.name = FIFO_ENV_INPUT},
    [INPUT_STDIN] = {.name = FIFO_ENV_INPUT_STDIN},
    [BIND_NOW] = {.name = FIFO_ENV_BIND_NOW},
    [TARGET_PID] = {.name = FIFO_ENV_TARGET_PID},
    [AFL_SHM_ID] = {.name = "__AFL_SHM_ID"},
    [AFL_MAP_SIZE] = {.name = "AFL_MAP_SIZE"},
    [LD_AUDIT] = {.name = "LD_AUDIT"},
};

enum protocol { NONE, NATIVE, CENTIPEDE, AFL, AFL_ONESHOT };

static struct {
  int looked;          /* the environment was read (once per process) */
  enum protocol proto; /* what the environment asks for */
  unsigned pending;    /* the later start point that still has to come, or 0 */
  int served;          /* this process is a child of a server that started */
  char **envp;
  char input[FSRV_PATH_MAX]; /* FORKSRV_INPUT, kept when the environment is scrubbed, or "" */
  int input_is_stdin;
} self;

/* Whether this process is the one the driver started (or what it exec'd): not a descendant that
 * inherited the variables, such as a constructor's system(), before the server scrubbed them. */
static int is_target(void) {
  if (!vars[TARGET_PID].found) return 1;
  long pid = 0;
  const char *p = vars[TARGET_PID].value;
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
      .outcome_map = has(AFL_MAP, "outcome"),
  };
  return env;
}

/* Reads the environment once and decides which protocol, if any, and which start point. */
static void look(char **envp, unsigned early) {
  if (self.looked) return;
  self.looked = 1;
  self.envp = envp;
  if (fsrv_at_secure() || fsrv_env_read(vars, NVARS) < 0) return;
  struct fsrv_afl_env env = afl_env();
  if (vars[REQUEST].found && vars[REPLY].found)
    self.proto = NATIVE;
  else if (vars[CENTIPEDE_IN].found && vars[CENTIPEDE_OUT].found)
    self.proto = CENTIPEDE;
  else if (fsrv_afl_present())
    self.proto = AFL;
  else if (fsrv_afl_oneshot_wanted(&env))
    self.proto = AFL_ONESHOT;
  if (self.proto == NATIVE && !is_target()) {
    /* It binds as the target's descendants do once the server scrubs the driver's LD_BIND_NOW. */
    static struct fsrv_env_var bind_now = {.name = "LD_BIND_NOW"};
    if (vars[BIND_NOW].found) fsrv_env_scrub(envp, &bind_now, 1);
    self.proto = NONE;
  }
  if (self.proto == NONE) return;
  self.pending = has(START, "main") ? FIFO_START_MAIN : has(START, "deferred") ? FIFO_START_DEFERRED : early;
  if (self.proto == NATIVE && vars[INPUT].found && !vars[INPUT].too_long) {
    fsrv_copy(self.input, vars[INPUT].value, sizeof self.input);
    self.input_is_stdin = has(INPUT_STDIN, "1");
  }
  /* The input start point needs its hooks (libforksrv_input.so) and forksrv's own protocol. */
  if (has(START, "input") && self.input[0]) self.pending = FIFO_START_INPUT;
}

static void say_setup_failed(int debug, long err) {
  struct fsrv_why why = {"set-up", 0};
  fsrv_say(debug, &why, "(needs glibc and Linux 5.3 or later)", err);
}

/* A fork taken with threads alive keeps only the forking thread in the child: say so, once. */
static void warn_threads(long n) {
  if (n <= 1) return;
  static const char line[] =
      "forksrv: warning: threads are running where the fork server starts; each child keeps only the "
      "thread that forked, so inputs may misbehave (start the server before threads are created)\n";
  sys_write(2, line, sizeof line - 1);
}

static void resolve_before_forking(void);

/* The server may not start here: the driver learns why from a notice on the reply FIFO, in place of
 * the hello, and the target ends. */
static __attribute__((noreturn)) void refuse(unsigned code, unsigned start) {
  struct fsrv_why why = {0, 0};
  long rep = fsrv_open_fifo(vars[REPLY].value, O_WRONLY, &why);
  if (rep >= 0) {
    unsigned char buf[FIFO_NOTICE_SIZE];
    struct fifo_notice n = {.code = code, .pid = (int32_t)sys_getpid(), .start = start};
    fifo_encode_notice(buf, &n);
    fsrv_write_full((int)rep, buf, sizeof buf);
  }
  sys_exit_group(FIFO_REFUSED_EXIT);
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

/* Starts the server at start point `start` if that is the one pending. Returns 1 in each child of a
 * server that started, 0 if none did (then the target simply runs on). */
static int serve(unsigned start) {
  if (self.served) return 1;
  if (self.proto == NONE || self.pending != start) return 0;
  self.pending = 0;
  if ((start == FIFO_START_MAIN || start == FIFO_START_INPUT || start == FIFO_START_DEFERRED) && read_early()) {
    const char *parts[] = {"forksrv: warning: the target read its input before ", start_name(start),
                           ", where the server would fork; starting it at its entry instead", 0};
    fsrv_say_line(parts);
    refuse(FIFO_NOTICE_READ_EARLY, start);
  }
  int debug = has(DEBUG, "1");
  fsrv_env_scrub(self.envp, vars, NOURS);
  /* The driver's LD_BIND_NOW has done its work in this process; the target's descendants bind as
   * they would without forksrv. */
  static struct fsrv_env_var bind_now = {.name = "LD_BIND_NOW"};
  if (vars[BIND_NOW].found) fsrv_env_scrub(self.envp, &bind_now, 1);
  resolve_before_forking();
  static struct fsrv s;
  long r;
  self.served = 1; /* as seen from the children */
  if (self.proto == AFL || self.proto == AFL_ONESHOT) {
    int afl = self.proto == AFL;
    r = fsrv_setup(&s, afl ? FSRV_AFL_CTL_FD : -1, afl ? FSRV_AFL_ST_FD : -1, start, 0);
    if (r < 0) {
      say_setup_failed(debug, r);
      return self.served = 0;
    }
    warn_threads(s.threads);
    struct fsrv_afl_env env = afl_env();
    if (afl)
      fsrv_afl_loop(&s, &env);
    else
      fsrv_afl_oneshot(&s, &env);
    return 1;
  }

  const struct fsrv_env_var *in = &vars[self.proto == NATIVE ? REQUEST : CENTIPEDE_IN];
  const struct fsrv_env_var *out = &vars[self.proto == NATIVE ? REPLY : CENTIPEDE_OUT];
  struct fsrv_why why = {0, 0};
  if (in->too_long || out->too_long) {
    why.why = "path longer than PATH_MAX";
    fsrv_say(debug, &why, in->too_long ? in->name : out->name, 0);
    return self.served = 0;
  }
  long req = fsrv_open_fifo(in->value, O_RDONLY, &why);
  if (req < 0) {
    fsrv_say(debug, &why, in->value, req);
    return self.served = 0;
  }
  long rep = fsrv_open_fifo(out->value, O_WRONLY, &why);
  if (rep < 0) {
    fsrv_say(debug, &why, out->value, rep);
    sys_close((int)req);
    return self.served = 0;
  }
  /* A pair that cannot work (one FIFO for both ends, or no peer to write requests) would end the
   * target at its first read, without main: it runs as it would without forksrv instead. */
  int first;
  why.what = 0;
  why.why = fsrv_same_fifo((int)req, (int)rep) ? "the request and the reply FIFO are one FIFO"
            : !fsrv_fifo_has_writer((int)req, &first) ? "no process has it open for writing" : 0;
  if (why.why) {
    fsrv_say(debug, &why, in->value, 0);
    sys_close((int)req);
    sys_close((int)rep);
    return self.served = 0;
  }
  r = fsrv_setup(&s, (int)req, (int)rep, start, self.proto == NATIVE);
  if (r < 0) {
    say_setup_failed(debug, r);
    sys_close((int)req);
    sys_close((int)rep);
    return self.served = 0;
  }
  warn_threads(s.threads);
  if (self.proto == NATIVE)
    fsrv_native_loop(&s, first);
  else
    fsrv_centipede_loop(&s, has(CENTIPEDE_ACK, "1"), first);
  return 1;
}

#ifdef FSRV_PREINIT
#define EARLY FIFO_START_PREINIT
#else
#define EARLY FIFO_START_CONSTRUCTOR
#endif

static int program_enters_here(void);

static void fsrv_early(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  look(envp, EARLY);
  if (self.pending == EARLY && program_enters_here()) self.pending = FIFO_START_ENTRY;
  serve(EARLY);
}

/* The deferred start: the target calls this (through forksrv.h's forksrv_start()) once its own
 * set-up is done. Idempotent; returns whether a server ran (1 in each of its children). */
__attribute__((visibility("default"))) int forksrv_start_server(void) {
  look(0, EARLY);
  return serve(FIFO_START_DEFERRED);
}

#ifndef FSRV_PREINIT
/* For libforksrv_input.so: the path of the input file the target is waiting to touch, and whether it
 * is its stdin too; NULL when no server waits for that start point. */
__attribute__((visibility("default"))) const char *forksrv_input_spec(int *is_stdin) {
  if (self.pending != FIFO_START_INPUT || self.served) return 0;
  *is_stdin = self.input_is_stdin;
  return self.input;
}

/* libforksrv_input.so, at the first touch, when a fork there would not be safe: the driver is told
 * (enum fifo_notice_code) and the target ends. */
__attribute__((visibility("default"), noreturn)) void forksrv_input_refuse(unsigned code) {
  refuse(code, FIFO_START_INPUT);
}

/* libforksrv_input.so calls this inside the first call that touches the input; in each child it
 * returns 1, and the call goes on with the child's input. */
__attribute__((visibility("default"))) int forksrv_input_server(void) { return serve(FIFO_START_INPUT); }
#endif

/* Persistent mode: while (forksrv_loop(N)) { one input } runs up to N inputs in one child. Between
 * two inputs the child tells the server and parks until the server sends it the next one (fresh
 * children replace any that crashed or timed out). The last of the N inputs ends with the process
 * itself. Without a server: one input, as without forksrv. Through forksrv.h's forksrv_loop(). */
__attribute__((visibility("default"))) int forksrv_loop_server(unsigned n) {
  static unsigned calls;
  if (++calls == 1) return 1;
  if (!self.served || !fsrv_current || (n && calls > n)) return 0;
  if (fsrv_current->slot) return fsrv_native_next(fsrv_current);
  if (fsrv_current->loop_fd < 0) return 0;
  uint64_t word = 1;
  sys_write(fsrv_current->loop_fd, &word, sizeof word);
  long r;
  do r = sys_read(fsrv_current->go_fd, &word, sizeof word);
  while (r == -EINTR);
  return r == sizeof word;
}

#ifdef FSRV_PREINIT
static void resolve_before_forking(void) {}
static int program_enters_here(void) { return 0; }

__attribute__((section(".preinit_array"), used)) static void (*fsrv_preinit)(int, char **, char **) = fsrv_early;

/* FORKSRV_START=main in a static target: after the constructors linked before libforksrv.a. */
static void fsrv_init(void) { serve(FIFO_START_MAIN); }
__attribute__((section(".init_array"), used)) static void (*fsrv_late)(void) = fsrv_init;
#else
__attribute__((constructor)) static void fsrv_constructor(int argc, char **argv, char **envp) {
  fsrv_early(argc, argv, envp);
}

/* FORKSRV_START=main: the preload's __libc_start_main hands libc a main of its own, which starts the
 * server after every constructor and .init_array entry has run, then calls the target's main. */
typedef int (*fsrv_main_fn)(int, char **, char **);
typedef int (*fsrv_start_main_fn)(fsrv_main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
                                  void *);
static fsrv_main_fn target_main;
static fsrv_start_main_fn real_start_main;

/* Children of a server started early still have libc's start ahead of them: found once here, libc's
 * __libc_start_main costs them nothing (looking it up reads /proc/self/auxv and walks hash tables). */
static void resolve_before_forking(void) {
  if (!real_start_main) real_start_main = (fsrv_start_main_fn)fsrv_next_symbol("__libc_start_main");
}

static int fsrv_main(int argc, char **argv, char **envp) {
  serve(FIFO_START_MAIN);
  return target_main(argc, argv, envp);
}

static int start_main(fsrv_main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);

/* The entry start point proper, once libc has started. Before the program's own initialisers, glibc
 * has only registered the loader's destructor; after them it calls the auditors' la_preinit, sets
 * up the main thread's cancellation buffer, and calls main. The preload hands glibc a main of its
 * own and an init that does nothing, and starts the server in that main, where each child then runs
 * the program's initialisers and goes on into the program's main: the child skips libc's start and
 * touches three code pages fewer (about 5 us on a trivial target). Under auditors, whose la_preinit
 * must come after the program's initialisers, glibc is handed an init that starts the server and
 * runs them instead, and each child returns into libc's start. */
static fsrv_init_fn program_init; /* the init a program linked before glibc 2.34 handed libc, or 0 */
static struct fsrv_inits program_inits;

static void run_program_inits(int argc, char **argv, char **envp) {
  if (program_init) {
    program_init(argc, argv, envp);
    return;
  }
  if (program_inits.init) program_inits.init(argc, argv, envp);
  for (unsigned long i = 0; i < program_inits.n; i++) program_inits.array[i](argc, argv, envp);
}

static void no_init(int argc, char **argv, char **envp) { (void)argc, (void)argv, (void)envp; }

static int fsrv_entry_main(int argc, char **argv, char **envp) {
  serve(FIFO_START_ENTRY);
  run_program_inits(argc, argv, envp);
  return target_main(argc, argv, envp);
}

static void fsrv_entry_init(int argc, char **argv, char **envp) {
  serve(FIFO_START_ENTRY);
  run_program_inits(argc, argv, envp);
}

/* Takes the program's init and main from glibc's arguments where glibc will call what it is handed
 * instead (musl ignores the init argument); the program's initialisers are found before the fork, so
 * that no child looks them up. 0 where the server must start right away. */
static int start_at_entry(fsrv_main_fn *main, void (**init)(void)) {
  if (!fsrv_next_symbol("gnu_get_libc_version") || fsrv_program_inits(&program_inits) < 0) return 0;
  program_init = (fsrv_init_fn)*init;
  if (program_inits.audited || vars[LD_AUDIT].found) {
    *init = (void (*)(void))fsrv_entry_init;
    return 1;
  }
  *init = (void (*)(void))no_init;
  target_main = *main;
  *main = fsrv_entry_main;
  return 1;
}

/* Our constructor runs after every other library's, so from there to here only the loader's last
 * steps and the program's _start run: a child forked here skips them (about 5 us and 2 page faults
 * each on a trivial target). Only where the program's reference to __libc_start_main is already
 * bound to this one (not a program without libc's start files, nor a lazily bound one) is it sure
 * to come here; elsewhere the server starts in the constructor. */
static int program_enters_here(void) { return fsrv_program_calls("__libc_start_main", (const void *)start_main); }

static int start_main(fsrv_main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end) {
  resolve_before_forking();
  fsrv_start_main_fn real = real_start_main;
  if (!real) {
    static const char line[] = "forksrv: cannot find libc's __libc_start_main: the target cannot start\n";
    sys_write(2, line, sizeof line - 1);
    sys_exit_group(127);
  }
  if (self.pending == FIFO_START_MAIN) {
    target_main = main;
    main = fsrv_main;
  }
  if (self.pending == FIFO_START_ENTRY && !start_at_entry(&main, &init)) serve(FIFO_START_ENTRY);
  return real(main, argc, argv, init, fini, rtld_fini, stack_end);
}

/* Exported under libc's name; the program's own reference is compared with start_main, which no
 * other preload can interpose. */
__attribute__((visibility("default"), alias("start_main"))) int __libc_start_main(
    fsrv_main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
    void *stack_end);
#endif
