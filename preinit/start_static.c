/* libforksrv.a's start points: a .preinit_array entry (the default: before any constructor of the
 * program), or with FORKSRV_START=main an .init_array entry, after the constructors linked before it.
 * A static program has no dynamic loader to bind symbols or to reach through libc's start. */
#include "../fifo/protocol.h"
#include "server.h"

const unsigned fsrv_early_start = FIFO_START_PREINIT;
/* libc.a's errno, for snap_calls.c's wrappers: every program that links libforksrv.a links a libc. */
extern int *__errno_location(void);
int *fsrv_static_errno(void) { return __errno_location(); }
/* snap_calls.c's wrappers are the program's own definitions here: those its calls reach tell a
 * snapshot child what they touched; the put-back compares the rest after every execution. */
void fsrv_resolve_before_forking(void) {
  fsrv_calls_resolve();
  fsrv_snapshot_unseen(fsrv_calls_check());
}
int fsrv_program_enters_here(void) { return 0; }

static void fsrv_preinit_entry(int argc, char **argv, char **envp) {
  (void)argc, (void)argv;
  fsrv_early(envp);
}
__attribute__((section(".preinit_array"), used)) static void (*fsrv_preinit)(int, char **, char **) = fsrv_preinit_entry;

/* FORKSRV_START=main in a static target: after the constructors linked before libforksrv.a. */
static void fsrv_init(void) { fsrv_serve(FIFO_START_MAIN); }
__attribute__((section(".init_array"), used)) static void (*fsrv_late)(void) = fsrv_init;
