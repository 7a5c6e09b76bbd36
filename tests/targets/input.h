/* Shared by the test targets: the input is the file named by argv[1] ('@@'), else stdin (read from
 * where its offset is: the driver rewinds it before each input). */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static size_t read_input(int argc, char **argv, char *buf, size_t cap) {
  int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
  size_t n = 0;
  ssize_t r;
  if (fd < 0) _exit(100);
  while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
  if (fd > 0) close(fd);
  buf[n] = '\0';
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = '\0';
  return n;
}
