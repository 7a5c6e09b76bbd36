/* Dies in a .preinit_array function, before any constructor (and so before the preloaded server)
 * runs: the driver must report that the target ended before the handshake, and how. It exits 3, or
 * with DIE_BY=segv raises SIGSEGV. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void die(int argc, char **argv, char **envp) {
  (void)argc, (void)argv;
  fputs("dies_early: giving up before main\n", stderr);
  for (char **e = envp; *e; e++)
    if (!strcmp(*e, "DIE_BY=segv")) raise(SIGSEGV);
  _exit(3);
}

__attribute__((section(".preinit_array"), used)) static void (*early)(int, char **, char **) = die;

int main(void) { return 0; }
