/* The server's words, for people: lines on stderr. The driver never reads them (it decides from
 * fifo/protocol.h's messages), so they may be reworded freely; `make check` builds them reworded
 * (FSRV_REWORDED) to show it. Without libc there is no strerror: the errnos a start-up can meet are
 * named here, and so are the causes (enum fifo_cause) of a server that did not start. */
#include "../fifo/protocol.h"
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

/* Each cause: the step that failed (before the object), and the reason (after it; NULL: the errno's). */
static const struct {
  const char *what, *why;
} causes[] = {
    [FIFO_CAUSE_OPEN] = {"open", 0},
    [FIFO_CAUSE_NOT_FIFO] = {0, "not a FIFO"},
    [FIFO_CAUSE_NOT_OURS] = {0, "not owned by our effective uid"},
    [FIFO_CAUSE_WRITABLE] = {0, "writable by its group or others"},
    [FIFO_CAUSE_NO_WRITER] = {0, "no process has it open for writing"},
    [FIFO_CAUSE_TOO_LONG] = {0, "path longer than PATH_MAX"},
    [FIFO_CAUSE_SETUP] = {"set-up", 0},
    [FIFO_CAUSE_SYSCALL] = {0, 0},
    [FIFO_CAUSE_ONE_FIFO] = {0, "the request and the reply FIFO are one FIFO"},
    [FIFO_CAUSE_NO_READER] = {"open", "no reader opened it in time"},
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

/* Every line goes out here. */
static void emit(const char *line, size_t n) {
#ifdef FSRV_REWORDED
  char other[600];
  size_t k = append(other, 0, sizeof other, "(reworded) ");
  for (size_t i = 0; i < n && k < sizeof other; i++)
    other[k++] = line[i] >= 'a' && line[i] <= 'z' ? (char)(line[i] - 'a' + 'A') : line[i];
  sys_write(2, other, k);
#else
  sys_write(2, line, n);
#endif
}

void fsrv_say_line(const char *const *parts) {
  char line[512];
  size_t n = 0;
  for (; *parts; parts++) n = append(line, n, sizeof line - 1, *parts);
  line[n++] = '\n';
  emit(line, n);
}

/* "forksrv: server not started: [<what> ]<object>: <why or the errno's text>" */
void fsrv_say(int enabled, const struct fsrv_why *why, const char *object, long err) {
  if (!enabled) return;
  char line[512];
  unsigned cause = why->cause < sizeof causes / sizeof causes[0] ? why->cause : 0;
  const char *what = why->call ? why->call : causes[cause].what;
  size_t n = append(line, 0, sizeof line, "forksrv: server not started: ");
  if (what) {
    n = append(line, n, sizeof line, what);
    n = append(line, n, sizeof line, " ");
  }
  n = append(line, n, sizeof line, object);
  n = append(line, n, sizeof line, ": ");
  const char *text = causes[cause].why;
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
  emit(line, n);
}
