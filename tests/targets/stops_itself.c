/* Stops itself with SIGSTOP on input "stop": a stopped child has not ended, so only the timeout can
 * end it. */
#include <signal.h>

#include "input.h"

int main(int argc, char **argv) {
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  if (!strcmp(buf, "stop")) raise(SIGSTOP);
  return 0;
}
