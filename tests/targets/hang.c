/* Hangs on "hang" (a busy loop), sleeps on "sleep MS", and on "stubborn" sleeps for a minute with
 * SIGTERM ignored; anything else exits 0 at once. */
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "input.h"

int main(int argc, char **argv) {
  char buf[256];
  read_input(argc, argv, buf, sizeof buf);
  if (!strcmp(buf, "hang"))
    for (volatile int spin = 0;; spin++) {}
  if (!strncmp(buf, "sleep ", 6)) {
    long ms = atol(buf + 6);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
  }
  if (!strcmp(buf, "stubborn")) {
    signal(SIGTERM, SIG_IGN);
    sleep(60);
  }
  return 0;
}
