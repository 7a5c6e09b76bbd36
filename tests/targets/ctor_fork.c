/* Does its work in a descendant: a constructor forks, the parent waits and exits with the child's
 * status, and the child goes on into main, which exits with the number its input holds. A server
 * started there, at main, would serve from a process the driver did not start. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "input.h"

__attribute__((constructor)) static void split(void) {
  pid_t pid = fork();
  if (pid <= 0) return;
  int status;
  if (waitpid(pid, &status, 0) != pid) _exit(99);
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char **argv) {
  char buf[256];
  read_input(argc, argv, buf, sizeof buf);
  return atoi(buf);
}
