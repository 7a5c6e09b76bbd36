/* Changes its environment in a constructor. It retitles itself, as setproctitle() does: the
 * environment moves to a copy, and the strings it was in are written over with the title; or, with
 * RETITLE_BY=setenv, it sets a variable, which moves the array but keeps its strings; with
 * RETITLE_BY=fixed, environ becomes an array of its own in read-only memory. Then exits with
 * the number its input holds, plus 100 if its environment still holds the driver's variables for the
 * server (its FIFOs, the target's pid, the LD_BIND_NOW it set), spoiled or not. A server that reads
 * its variables again from the strings would find them gone, and one that removes them only from the
 * array it was started with would leave them in the one the program has. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

extern char **environ;

__attribute__((constructor)) static void retitle(int argc, char **argv, char **envp) {
  (void)argc, (void)argv;
  const char *by = getenv("RETITLE_BY");
  if (by && !strcmp(by, "setenv")) {
    setenv("RETITLED", "1", 1);
    return;
  }
  static char *const fixed[] = {"PATH=/usr/bin:/bin", "LANG=C", 0}; /* read-only, once relocated */
  if (by && !strcmp(by, "fixed")) {
    environ = (char **)fixed;
    return;
  }
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
  static const char *const driver[] = {"FORKSRV_FIFO_", "FORKSRV_TARGET_PID=", "FORKSRV_BIND_NOW=", "LD_BIND_NOW=",
                                       "_ORKSRV_",      "_D_BIND_NOW="};
  for (char **e = environ; *e; e++)
    for (unsigned i = 0; i < sizeof driver / sizeof *driver; i++)
      if (!strncmp(*e, driver[i], strlen(driver[i]))) return atoi(buf) + 100;
  return atoi(buf);
}
