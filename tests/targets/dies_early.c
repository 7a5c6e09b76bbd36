/* Dies in a .preinit_array function, before any constructor (and so before the preloaded server)
 * runs: the driver must report that the target exited before the handshake, with its code. */
#include <stdio.h>
#include <unistd.h>

static void die(void) {
  fputs("dies_early: giving up before main\n", stderr);
  _exit(3);
}

__attribute__((section(".preinit_array"), used)) static void (*early)(void) = die;

int main(void) { return 0; }
