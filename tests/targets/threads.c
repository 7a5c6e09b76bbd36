/* Starts a thread in a constructor, as some libraries do: a server started after it (at main) forks
 * a process that has only the forking thread. It exits with the number its input holds. */
#include <pthread.h>
#include <stdlib.h>

#include "input.h"

static void *idle(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

__attribute__((constructor)) static void start_thread(void) {
  pthread_t t;
  pthread_create(&t, NULL, idle, NULL);
}

int main(int argc, char **argv) {
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  return atoi(buf);
}
