/* Where the server starts: a constructor in libforksrv.so, a .preinit_array entry in libforksrv.a
 * (built with -DFSRV_PREINIT). Both receive (argc, argv, envp) from libc. It speaks forksrv's own
 * protocol when the driver's variables are set, else Centipede's when Centipede's are, else AFL++'s
 * when afl-fuzz's fds 198 and 199 are open pipes. With none of these, or under AT_SECURE, it returns
 * at once and the target runs as if forksrv were not there; when it does start, it returns only in
 * each forked child, which then runs the target. */
#include "../fifo/protocol.h"
#include "server.h"

/* forksrv's own variables come first: those are removed for the target's descendants; AFL++'s are
 * only read. */
enum { REQUEST, REPLY, DEBUG, CENTIPEDE_IN, CENTIPEDE_OUT, CENTIPEDE_ACK, AFL_MAP, NOURS,
       AFL_SHM_ID = NOURS, AFL_MAP_SIZE, NVARS };

static int fsrv_strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (unsigned char)*a - (unsigned char)*b;
}

static int is_one(const struct fsrv_env_var *v) { return v->found && !fsrv_strcmp(v->value, "1"); }

static void start_server(char **envp, unsigned start) {
  static struct fsrv_env_var vars[NVARS] = {
      [REQUEST] = {.name = FIFO_ENV_REQUEST},
      [REPLY] = {.name = FIFO_ENV_REPLY},
      [DEBUG] = {.name = FIFO_ENV_DEBUG},
      [CENTIPEDE_IN] = {.name = FIFO_ENV_CENTIPEDE_IN},
      [CENTIPEDE_OUT] = {.name = FIFO_ENV_CENTIPEDE_OUT},
      [CENTIPEDE_ACK] = {.name = FIFO_ENV_CENTIPEDE_ACK},
      [AFL_MAP] = {.name = FIFO_ENV_AFL_MAP},
      [AFL_SHM_ID] = {.name = "__AFL_SHM_ID"},
      [AFL_MAP_SIZE] = {.name = "AFL_MAP_SIZE"},
  };
  if (fsrv_at_secure()) return;
  if (fsrv_env_read(vars, NVARS) < 0) return;
  int native = vars[REQUEST].found && vars[REPLY].found;
  int centipede = !native && vars[CENTIPEDE_IN].found && vars[CENTIPEDE_OUT].found;
  const struct fsrv_afl_env afl_env = {
      .shm_id = vars[AFL_SHM_ID].found ? vars[AFL_SHM_ID].value : 0,
      .map_size = vars[AFL_MAP_SIZE].found ? vars[AFL_MAP_SIZE].value : 0,
      .outcome_map = vars[AFL_MAP].found && !fsrv_strcmp(vars[AFL_MAP].value, "outcome"),
  };
  int afl = !native && !centipede && fsrv_afl_present();
  int oneshot = !native && !centipede && !afl && fsrv_afl_oneshot_wanted(&afl_env);
  if (!native && !centipede && !afl && !oneshot) return;
  int debug = is_one(&vars[DEBUG]);
  fsrv_env_scrub(envp, vars, NOURS);
  static struct fsrv s;
  struct fsrv_why why = {0, 0};
  long r;
  if (afl || oneshot) {
    r = fsrv_setup(&s, afl ? FSRV_AFL_CTL_FD : -1, afl ? FSRV_AFL_ST_FD : -1);
    if (r < 0) {
      why.what = "set-up";
      fsrv_say(debug, &why, "(needs glibc and Linux 5.3 or later)", r);
      return;
    }
    if (afl)
      fsrv_afl_loop(&s, &afl_env);
    else
      fsrv_afl_oneshot(&s, &afl_env);
    return;
  }

  const struct fsrv_env_var *in = native ? &vars[REQUEST] : &vars[CENTIPEDE_IN];
  const struct fsrv_env_var *out = native ? &vars[REPLY] : &vars[CENTIPEDE_OUT];
  if (in->too_long || out->too_long) {
    why.why = "path longer than PATH_MAX";
    fsrv_say(debug, &why, in->too_long ? in->name : out->name, 0);
    return;
  }
  long req = fsrv_open_fifo(in->value, O_RDONLY, &why);
  if (req < 0) {
    fsrv_say(debug, &why, in->value, req);
    return;
  }
  long rep = fsrv_open_fifo(out->value, O_WRONLY, &why);
  if (rep < 0) {
    fsrv_say(debug, &why, out->value, rep);
    sys_close((int)req);
    return;
  }
  r = fsrv_setup(&s, (int)req, (int)rep);
  if (r < 0) {
    why.what = "set-up";
    fsrv_say(debug, &why, "(needs glibc and Linux 5.3 or later)", r);
    sys_close((int)req);
    sys_close((int)rep);
    return;
  }
  if (native)
    fsrv_native_loop(&s, start);
  else
    fsrv_centipede_loop(&s, is_one(&vars[CENTIPEDE_ACK]));
}

static void fsrv_entry(int argc, char **argv, char **envp) {
  /* Once per process, whichever way in ran first (both may be linked into one target). */
  static int started;
  (void)argc;
  (void)argv;
  if (started) return;
  started = 1;
#ifdef FSRV_PREINIT
  start_server(envp, FIFO_START_PREINIT);
#else
  start_server(envp, FIFO_START_CONSTRUCTOR);
#endif
}

#ifdef FSRV_PREINIT
__attribute__((section(".preinit_array"), used)) static void (*fsrv_preinit)(int, char **, char **) = fsrv_entry;
#else
__attribute__((constructor)) static void fsrv_constructor(int argc, char **argv, char **envp) {
  fsrv_entry(argc, argv, envp);
}
#endif
