/* The server's words, for people: lines on stderr; the one saying why it did not start is written
 * only when FORKSRV_DEBUG=1 asks for it (the driver does, and passes the line on). Without libc
 * there is no strerror, so the errnos a start-up can meet are named here. */
#include "server.h"

static const struct {
  int err;
  const char *text;
} errnos[] = {
    {EPERM, "Operation not permitted"},   {ENOENT, "No such file or directory"},
    {EINTR, "Interrupted system call"},   {ENXIO, "No such device or address"},
    {EBADF, "Bad file descriptor"},       {EAGAIN, "Resource temporarily unavailable"},
    {ENOMEM, "Cannot allocate memory"},   {EACCES, "Permission denied"},
    {ENOTDIR, "Not a directory"},         {EISDIR, "Is a directory"},
    {EINVAL, "Invalid argument"},         {EMFILE, "Too many open files"},
    {ETIMEDOUT, "Connection timed out"},  {ENAMETOOLONG, "File name too long"},
    {ELOOP, "Too many levels of symbolic links"}, {ENOSYS, "Function not implemented"},
    {EPIPE, "Broken pipe"},               {ETXTBSY, "Text file busy"},
};

static size_t append(char *buf, size_t at, size_t cap, const char *s) {
  while (*s && at + 1 < cap) buf[at++] = *s++;
  return at;
}

const char *fsrv_decimal(unsigned long v, char buf[24]) {
  char *p = buf + 23;
  *p = '\0';
  do *--p = (char)('0' + v % 10), v /= 10;
  while (v);
  return p;
}

int fsrv_streq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

void fsrv_say_line(const char *const *parts) {
  char line[512];
  size_t n = 0;
  for (; *parts; parts++) n = append(line, n, sizeof line - 1, *parts);
  line[n++] = '\n';
  sys_write(2, line, n);
}

/* "forksrv: server not started: [<what> ]<object>: <why or the errno's text>" */
void fsrv_say(int enabled, const struct fsrv_why *why, const char *object, long err) {
  if (!enabled) return;
  char line[512];
  size_t n = append(line, 0, sizeof line, "forksrv: server not started: ");
  if (why->what) {
    n = append(line, n, sizeof line, why->what);
    n = append(line, n, sizeof line, " ");
  }
  n = append(line, n, sizeof line, object);
  n = append(line, n, sizeof line, ": ");
  const char *text = why->why;
  for (size_t i = 0; !text && i < sizeof errnos / sizeof errnos[0]; i++)
    if (errnos[i].err == -err) text = errnos[i].text;
  if (text) {
    n = append(line, n, sizeof line, text);
  } else {
    n = append(line, n, sizeof line, "errno ");
    char digits[24];
    n = append(line, n, sizeof line, fsrv_decimal((unsigned long)-err, digits));
  }
  line[n++] = '\n';
  sys_write(2, line, n);
}
