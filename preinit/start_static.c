/* libforksrv.a's start points: a .preinit_array entry (the default: before any constructor of the
 * program), or with FORKSRV_START=main an .init_array entry, after the constructors linked before it.
 * A static program has no dynamic loader to bind symbols or to reach through libc's start. */
#include "../fifo/protocol.h"
#include "server.h"

const unsigned fsrv_early_start = FIFO_START_PREINIT;
void fsrv_resolve_before_forking(void) {}
/* No call of libc's is interposed here (a static program's would be its own): a snapshot child
 * compares everything snap_calls.c would have told it was touched, after every execution. */
const int fsrv_sees_calls = 0;
int fsrv_program_enters_here(void) { return 0; }

static void fsrv_preinit_entry(int argc, char **argv, char **envp) {
  (void)argc, (void)argv;
  fsrv_early(envp);
}
__attribute__((section(".preinit_array"), used)) static void (*fsrv_preinit)(int, char **, char **) = fsrv_preinit_entry;

/* FORKSRV_START=main in a static target: after the constructors linked before libforksrv.a. */
static void fsrv_init(void) { fsrv_serve(FIFO_START_MAIN); }
__attribute__((section(".init_array"), used)) static void (*fsrv_late)(void) = fsrv_init;
