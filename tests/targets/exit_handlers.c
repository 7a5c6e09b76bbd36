/* For snapshot reset's exit: exit handlers registered before any preload's code runs (from a
 * library's constructor, tests/lib/exit_lib.c, and from the program's .preinit_array) and from main
 * must all run at the end of every execution, in the order a process's exit runs them. The input is
 * the exit code; "_exit" ends without them, as _exit does. */
#include <stdio.h>
#include <stdlib.h>

#include "input.h"

static void by_preinit(void) { printf("preinit atexit handler\n"); }
static void register_early(int argc, char **argv, char **envp) {
  (void)argc, (void)argv, (void)envp;
  atexit(by_preinit);
}
__attribute__((section(".preinit_array"), used)) static void (*early)(int, char **, char **) = register_early;

static void by_main(void) { printf("main's atexit handler\n"); }

int main(int argc, char **argv) {
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  atexit(by_main);
  printf("main\n");
  if (!strcmp(buf, "_exit")) fflush(stdout), _exit(3);
  return atoi(buf);
}
