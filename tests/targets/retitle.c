/* Retitles itself in a constructor, as setproctitle() does: the environment moves to a copy, and
 * the strings it was in are written over with the title. Then exits with the number its input
 * holds, plus 100 if its environment still holds the driver's variables for the server (its FIFOs,
 * the target's pid, LD_BIND_NOW).
 * A server that reads its variables again from those strings would find them gone, and one that
 * removes them only from the array it was started with would leave them in the copy. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

extern char **environ;

__attribute__((constructor)) static void retitle(int argc, char **argv, char **envp) {
  (void)argc, (void)argv;
  size_t n = 0;
  while (envp[n]) n++;
  char **copy = calloc(n + 1, sizeof *copy);
  if (!copy) return;
  for (size_t i = 0; i < n; i++) copy[i] = strdup(envp[i]);
  environ = copy;
  for (size_t i = 0; i < n; i++) memset(envp[i], i ? '\0' : 't', strlen(envp[i]));
}

int main(int argc, char **argv) {
  char buf[256];
  read_input(argc, argv, buf, sizeof buf);
  static const char *const driver[] = {"FORKSRV_FIFO_", "FORKSRV_TARGET_PID=", "FORKSRV_BIND_NOW=", "LD_BIND_NOW="};
  for (char **e = environ; *e; e++)
    for (unsigned i = 0; i < sizeof driver / sizeof *driver; i++)
      if (!strncmp(*e, driver[i], strlen(driver[i]))) return atoi(buf) + 100;
  return atoi(buf);
}
