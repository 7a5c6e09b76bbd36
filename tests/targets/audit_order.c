/* Appends "ctor" from its constructor and "main" from main to the file $ORDER names, then exits with
 * the number its input holds: with tests/audit/auditor.c as LD_AUDIT, each execution leaves "ctor",
 * "preinit", "main" in the order glibc runs them. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"

static void trace(const char *what) {
  const char *order = getenv("ORDER");
  int fd = order ? open(order, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
  if (fd < 0) return;
  if (write(fd, what, strlen(what)) < 0) {}
  close(fd);
}

__attribute__((constructor)) static void constructor(void) { trace("ctor\n"); }

int main(int argc, char **argv) {
  trace("main\n");
  char buf[64];
  read_input(argc, argv, buf, sizeof buf);
  return atoi(buf);
}
