/* A shared library that registers exit handlers from its constructor, before any preload's code has
 * run in the program: they must run at every exit, as in a process of its own (tests/exit_handlers). */
#include <stdio.h>
#include <stdlib.h>

static void by_on_exit(int status, void *arg) {
  (void)arg;
  printf("library on_exit handler, status %d\n", status);
}

static void by_atexit(void) { printf("library atexit handler\n"); }

__attribute__((constructor)) static void registers(void) {
  on_exit(by_on_exit, 0);
  atexit(by_atexit);
}
