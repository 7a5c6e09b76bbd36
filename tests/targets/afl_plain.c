/* An uninstrumented target for the AFL++ tests, with a crash and a hang planted where random mutation
 * easily finds them, one byte anywhere: a '!' crashes (SIGSEGV), a '~' hangs. It reads stdin, or the
 * file named by argv[1] ('@@'). On "fork" it leaves a grandchild behind. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "input.h"

static volatile int zero;

int main(int argc, char **argv) {
  char buf[4096];
  size_t n = read_input(argc, argv, buf, sizeof buf);
  if (memchr(buf, '!', n)) *(volatile int *)(long)zero = 1;
  if (memchr(buf, '~', n))
    for (;;) pause();
  if (!strcmp(buf, "fork") && fork() == 0) {
    sleep(60);
    _exit(0);
  }
  return 0;
}
