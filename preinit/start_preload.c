/* libforksrv.so's start points: its constructor (after every other library's), the program's entry
 * once libc has started (the default: the preload's __libc_start_main hands glibc a main of its own),
 * and main (FORKSRV_START=main, through the same __libc_start_main); and the exports through which
 * libforksrv_input.so starts the server inside the first call that touches the input. */
#include "../fifo/protocol.h"
#include "server.h"

const unsigned fsrv_early_start = FIFO_START_CONSTRUCTOR;

/* For libforksrv_input.so: the path of the input file the target is waiting to touch, and whether it
 * is its stdin too; NULL when no server waits for that start point. */
__attribute__((visibility("default"))) const char *forksrv_input_spec(int *is_stdin) { return fsrv_input_wanted(is_stdin); }

/* libforksrv_input.so, at the first touch, when a fork there would not be safe: the driver is told
 * (enum fifo_notice_code) and the target ends. */
__attribute__((visibility("default"), noreturn)) void forksrv_input_refuse(unsigned code, const char *call) {
  fsrv_refuse_input(code, call);
}

/* libforksrv_input.so calls this inside the first call that touches the input; in each child it
 * returns 1, and the call goes on with the child's input. */
__attribute__((visibility("default"))) int forksrv_input_server(const char *call, uint64_t shared_fds) {
  return fsrv_serve_input(call, shared_fds);
}

__attribute__((constructor)) static void fsrv_constructor(int argc, char **argv, char **envp) {
  (void)argc, (void)argv;
  fsrv_early(envp);
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
void fsrv_resolve_before_forking(void) {
  if (!real_start_main) real_start_main = (fsrv_start_main_fn)fsrv_next_symbol("__libc_start_main");
  static int resolved;
  if (resolved) return;
  resolved = 1;
  fsrv_calls_resolve();
  if (fsrv_reset_snapshot()) fsrv_snapshot_unseen(fsrv_calls_unseen());
}

/* snap_calls.c interposes the calls that change what a snapshot child puts back. */
const int fsrv_sees_calls = 1;

static int fsrv_main(int argc, char **argv, char **envp) {
  fsrv_serve(FIFO_START_MAIN);
  return target_main(argc, argv, envp);
}

static int start_main(fsrv_main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);

/* The entry start point proper, once libc has started. Before the program's own initialisers, glibc
 * has only registered the loader's destructor; after them it calls the auditors' la_preinit, sets
 * up the main thread's cancellation buffer, and calls main. The preload hands glibc a main of its
 * own and an init that does nothing, and starts the server in that main, where each child then runs
 * the program's initialisers and goes on into the program's main: the child skips libc's start and
 * touches fewer code pages (docs/benchmarks.md). Under auditors, whose la_preinit
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
  fsrv_serve(FIFO_START_ENTRY);
  run_program_inits(argc, argv, envp);
  return target_main(argc, argv, envp);
}

static void fsrv_entry_init(int argc, char **argv, char **envp) {
  fsrv_serve(FIFO_START_ENTRY);
  run_program_inits(argc, argv, envp);
}

/* Takes the program's init and main from glibc's arguments where glibc will call what it is handed
 * instead (musl ignores the init argument); the program's initialisers are found before the fork, so
 * that no child looks them up. 0 where the server must start right away. */
static int start_at_entry(fsrv_main_fn *main, void (**init)(void)) {
  if (!fsrv_next_symbol("gnu_get_libc_version") || fsrv_program_inits(&program_inits) < 0) return 0;
  program_init = (fsrv_init_fn)*init;
  if (program_inits.audited || fsrv_audited()) {
    *init = (void (*)(void))fsrv_entry_init;
    return 1;
  }
  *init = (void (*)(void))no_init;
  target_main = *main;
  *main = fsrv_entry_main;
  return 1;
}

/* Our constructor runs after every other library's, so from there to here only the loader's last
 * steps and the program's _start run: a child forked here skips them and their page faults
 * (docs/benchmarks.md). Only where the program's reference to __libc_start_main is already
 * bound to this one (not a program without libc's start files, nor a lazily bound one) is it sure
 * to come here; elsewhere the server starts in the constructor. */
int fsrv_program_enters_here(void) { return fsrv_program_calls("__libc_start_main", (const void *)start_main); }

static int start_main(fsrv_main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end) {
  fsrv_resolve_before_forking();
  fsrv_start_main_fn real = real_start_main;
  if (!real) {
    static const char *const line[] = {"forksrv: cannot find libc's __libc_start_main: the target cannot start", 0};
    fsrv_say_line(line);
    sys_exit_group(127);
  }
  /* Before libc registers anything: the handler that ends a snapshot child's execution runs last. */
  if (fsrv_reset_snapshot()) fsrv_snapshot_hook_exit();
  if (fsrv_pending() == FIFO_START_MAIN) {
    target_main = main;
    main = fsrv_main;
  }
  if (fsrv_pending() == FIFO_START_ENTRY && !start_at_entry(&main, &init)) fsrv_serve(FIFO_START_ENTRY);
  return real(main, argc, argv, init, fini, rtld_fini, stack_end);
}

/* Exported under libc's name; the program's own reference is compared with start_main, which no
 * other preload can interpose. */
__attribute__((visibility("default"), alias("start_main"))) int __libc_start_main(
    fsrv_main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
    void *stack_end);

/* _exit and _Exit end a snapshot child's execution too (without stdio, as they do); libc's exit
 * reaches them inside libc, and comes to the exit handler instead. */
__attribute__((visibility("default"), noreturn)) void _exit(int code) {
  fsrv_snapshot_end(code, 0);
  sys_exit_group(code);
}
__attribute__((visibility("default"), noreturn, alias("_exit"))) void _Exit(int code);
