/* Where the server starts: a constructor in libforksrv.so, a .preinit_array entry in libforksrv.a
 * (built with -DFSRV_PREINIT). Both receive (argc, argv, envp) from libc. With none of its variables
 * set, or under AT_SECURE, it returns at once and the target runs as if forksrv were not there;
 * when it does start, it returns only in each forked child, which then runs the target. */
#include "../fifo/protocol.h"
#include "server.h"

enum { REQUEST, REPLY, DEBUG, CENTIPEDE_IN, CENTIPEDE_OUT, CENTIPEDE_ACK, NVARS };

static int is_one(const struct fsrv_env_var *v) { return v->found && v->value[0] == '1' && !v->value[1]; }

static void start_server(char **envp, unsigned start) {
  static struct fsrv_env_var vars[NVARS] = {
      [REQUEST] = {.name = FIFO_ENV_REQUEST},
      [REPLY] = {.name = FIFO_ENV_REPLY},
      [DEBUG] = {.name = FIFO_ENV_DEBUG},
      [CENTIPEDE_IN] = {.name = FIFO_ENV_CENTIPEDE_IN},
      [CENTIPEDE_OUT] = {.name = FIFO_ENV_CENTIPEDE_OUT},
      [CENTIPEDE_ACK] = {.name = FIFO_ENV_CENTIPEDE_ACK},
  };
  if (fsrv_at_secure()) return;
  if (fsrv_env_read(vars, NVARS) < 0) return;
  int native = vars[REQUEST].found && vars[REPLY].found;
  int centipede = !native && vars[CENTIPEDE_IN].found && vars[CENTIPEDE_OUT].found;
  if (!native && !centipede) return;
  int debug = is_one(&vars[DEBUG]);
  fsrv_env_scrub(envp, vars, NVARS);

  const struct fsrv_env_var *in = native ? &vars[REQUEST] : &vars[CENTIPEDE_IN];
  const struct fsrv_env_var *out = native ? &vars[REPLY] : &vars[CENTIPEDE_OUT];
  struct fsrv_why why = {0, 0};
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
  static struct fsrv s;
  long r = fsrv_setup(&s, (int)req, (int)rep);
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
