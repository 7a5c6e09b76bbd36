/* forksrv.h: for targets that choose where the fork server starts. Call forksrv_start() once the
 * target's expensive set-up is done (libraries initialised, configuration parsed): every input then
 * runs in a fresh fork taken at that point. Works with libforksrv.a linked in or libforksrv.so
 * preloaded (the driver does that); without either, or without a driver, it does nothing. Like AFL++'s
 * __AFL_INIT(), but the driver finds the string below in the binary: it needs no option. */
#ifndef FORKSRV_H
#define FORKSRV_H

#ifdef __cplusplus
extern "C" {
#endif

int forksrv_start_server(void) __attribute__((weak));
int forksrv_loop_server(unsigned n) __attribute__((weak));

/* Returns 1 in each child of the server (go on and handle the one input), 0 when no server runs.
 * Calling it again is harmless. */
static inline int forksrv_start(void) {
  static const char signature[] __attribute__((used)) = "##FORKSRV_DEFERRED_START##";
  __asm__ volatile("" : : "r"(signature));
  return forksrv_start_server ? forksrv_start_server() : 0;
}

/* Persistent mode: while (forksrv_loop(1000)) { read the input; handle it; } runs up to 1000 inputs
 * in one forked child, each reported as if it had a process of its own; a crash or a timeout ends
 * the child, and the next input gets a fresh one. Read the input afresh in each iteration from fd 0
 * with read() (the driver rewinds it), or reopen the '@@' path; a FILE * on stdin keeps its EOF and
 * its buffer between iterations (call clearerr(stdin) first). Without a server: one iteration. The
 * second signature lets afl-fuzz recognise a persistent target too. */
static inline int forksrv_loop(unsigned n) {
  static const char signature[] __attribute__((used)) = "##SIG_AFL_PERSISTENT##";
  static int once;
  __asm__ volatile("" : : "r"(signature));
  if (forksrv_loop_server) return forksrv_loop_server(n);
  return once++ == 0;
}

#ifdef __cplusplus
}
#endif

#endif
