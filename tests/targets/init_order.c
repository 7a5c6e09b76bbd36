/* A program whose own initialisers leave a trace of where and in which order they ran: its DT_INIT
 * function (linked with -Wl,-init=first), a constructor with a priority, then a plain one. main exits
 * with the number its input holds when each ran once, in that order, in this very process; else with
 * more than 90. A server that ran them once for all children, or skipped or repeated one, is told
 * apart from plain fork+exec by the exit code. */
#include <stdlib.h>
#include <unistd.h>

#include "input.h"

static pid_t ran[3];
static int count;

static void trace(int step) {
  if (count++ == step) ran[step] = getpid();
}

void first(void) { trace(0); }
__attribute__((constructor(101))) static void second(void) { trace(1); }
__attribute__((constructor)) static void third(void) { trace(2); }

int main(int argc, char **argv) {
  int missing = 0;
  for (int i = 0; i < 3; i++) missing += ran[i] != getpid();
  if (count != 3 || missing) return 90 + missing + (count != 3);
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  return atoi(buf);
}
