/* Retitles itself in a constructor, as setproctitle() does: the environment moves to a copy, and
 * the strings it was in are written over with the title. Then exits with the number its input
 * holds. A server that reads its variables again from those strings would find them gone. */
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
  return atoi(buf);
}
