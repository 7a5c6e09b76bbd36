/* The calls only libforksrv.so interposes, beside snap_calls.c's: each needs libc's own (a thread's
 * id, the group database, a timer's thread, ptrace's peeks, the exit handlers' list), which a static
 * program would have to take from libc.a, where some of them clash with a definition here. In a
 * program that links the server in, what they touch is compared after every execution instead
 * (fsrv_calls_check). */
#include "../fifo/protocol.h"
#include "server.h"

#define EXPORT __attribute__((visibility("default")))
#define FORWARD(name, touched)                                                                               \
  static fsrv_fn real_##name;                                                                                \
  EXPORT long name(long a, long b, long c, long d, long e) {                                                 \
    fsrv_snapshot_touched(touched);                                                                          \
    fsrv_fn f = fsrv_calls_find(&real_##name, #name);                                                        \
    return f != FSRV_CALL_NONE ? f(a, b, c, d, e) : fsrv_calls_set_errno(-ENOSYS);                           \
  }

FORWARD(pthread_setaffinity_np, FSRV_TOUCHED_AFFINITY)
FORWARD(setgroups, FSRV_TOUCHED_IDENTITY)
FORWARD(initgroups, FSRV_TOUCHED_IDENTITY)
FORWARD(timer_create, FSRV_TOUCHED_TIMERS)
/* Any semop may carry SEM_UNDO: the undo a process's end would apply is applied at the put-back. */
FORWARD(semop, FSRV_TOUCHED_SEMUNDO)
FORWARD(semtimedop, FSRV_TOUCHED_SEMUNDO)
/* Being traced (PTRACE_TRACEME, by the server) cannot be undone. */
FORWARD(ptrace, FSRV_TOUCHED_FOREVER)

/* Exit handlers: a snapshot child's execution ends in one of its own, which must run after every
 * other, so it must be registered first (handlers run last-registered first). A library's
 * constructor, or the program's .preinit_array, can register one before the preload's own start is
 * reached, and before the environment says whether snapshot reset is wanted: the first registration
 * of anyone's registers the snapshot's before it, unless it is known not to be wanted. */
static fsrv_fn real___cxa_atexit, real_on_exit;
EXPORT long __cxa_atexit(long fn, long arg, long dso, long d, long e) {
  if (fsrv_reset_snapshot_maybe()) fsrv_snapshot_hook_exit();
  fsrv_fn f = fsrv_calls_find(&real___cxa_atexit, "__cxa_atexit");
  return f != FSRV_CALL_NONE ? f(fn, arg, dso, d, e) : fsrv_calls_set_errno(-ENOSYS);
}
EXPORT long on_exit(long fn, long arg, long c, long d, long e) {
  if (fsrv_reset_snapshot_maybe()) fsrv_snapshot_hook_exit();
  fsrv_fn f = fsrv_calls_find(&real_on_exit, "on_exit");
  return f != FSRV_CALL_NONE ? f(fn, arg, c, d, e) : fsrv_calls_set_errno(-ENOSYS);
}

/* Every function above, found now, so that no child looks one up. */
void fsrv_calls_libc_resolve(void) {
  static fsrv_fn *const reals[] = {&real_pthread_setaffinity_np, &real_setgroups, &real_initgroups, &real_timer_create,
                                   &real_semop, &real_semtimedop, &real_ptrace, &real___cxa_atexit, &real_on_exit};
  static const char *const names[] = {"pthread_setaffinity_np", "setgroups", "initgroups", "timer_create",
                                      "semop", "semtimedop", "ptrace", "__cxa_atexit", "on_exit"};
  for (unsigned i = 0; i < sizeof reals / sizeof reals[0]; i++)
    fsrv_calls_find(reals[i], names[i]);
}
