/* An rtld-audit library (LD_AUDIT) whose la_preinit, which glibc calls after the program's
 * constructors and before main, appends "preinit" to the file $ORDER names, so that a test can see
 * where it comes in each execution. */
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <unistd.h>

unsigned la_version(unsigned version) { return version; }

void la_preinit(uintptr_t *cookie) {
  (void)cookie;
  const char *order = getenv("ORDER");
  int fd = order ? open(order, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
  if (fd < 0) return;
  if (write(fd, "preinit\n", 8) < 0) {}
  close(fd);
}
