/* Crashes the way its input names: segv, abort, fpe, ill, bus, trap, kill, or heap-overflow (which a
 * sanitizer reports); any other input exits 0. */
#include <signal.h>
#include <stdlib.h>

#include "input.h"

static volatile int zero;
static char *volatile heap;

int main(int argc, char **argv) {
  char buf[256];
  read_input(argc, argv, buf, sizeof buf);
  if (!strcmp(buf, "segv")) *(volatile int *)(long)zero = 1;
  if (!strcmp(buf, "abort")) abort();
  if (!strcmp(buf, "fpe")) raise(SIGFPE);
  if (!strcmp(buf, "ill")) raise(SIGILL);
  if (!strcmp(buf, "bus")) raise(SIGBUS);
  if (!strcmp(buf, "trap")) raise(SIGTRAP);
  if (!strcmp(buf, "kill")) raise(SIGKILL);
  if (!strcmp(buf, "heap-overflow")) {
    heap = malloc(8);
    heap[zero + 8] = 'x';
    free(heap);
  }
  return 0;
}
