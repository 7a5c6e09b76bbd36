/* Starting the target: its command line with '@@' replaced by the input file's path, its two
 * environments (the caller's for plain runs; with the server's variables and the preload for the
 * server), and its fds 0-2. Exec failures come back as the child's errno through an O_CLOEXEC pipe
 * (EOF means the exec happened), as ChromiumOS spawn_util does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../fifo/protocol.h"
#include "capture.h"
#include "spawn.h"

extern char **environ;

/* Enough for any pid (the kernel's limit is 2^22). */
#define PID_DIGITS 10

static int fail(struct drv_spawn *sp, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sp->err, sizeof sp->err, fmt, ap);
  va_end(ap);
  errno = saved;
  return -1;
}

/* A driver started with fd 0, 1 or 2 closed would otherwise hand out those numbers and then dup2 a
 * file onto itself in the child. */
int drv_fd_above_stdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int saved = errno;
  close(fd);
  errno = saved;
  return high;
}

static char *resolve(const char *name) {
  if (strchr(name, '/')) return strdup(name);
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    char *cand;
    if (asprintf(&cand, "%.*s%s%s", (int)(end - p), p, end == p ? "" : "/", name) < 0) return NULL;
    struct stat st;
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) return cand;
    free(cand);
    if (!*end) break;
    p = end;
  }
  errno = ENOENT;
  return NULL;
}

static char *replace_all(const char *arg, const char *token, const char *with) {
  size_t n = 0, tlen = strlen(token), wlen = strlen(with);
  for (const char *s = strstr(arg, token); s; s = strstr(s + tlen, token)) n++;
  char *out = malloc(strlen(arg) + n * wlen + 1), *o = out;
  if (!out) return NULL;
  for (const char *s = arg;;) {
    const char *hit = strstr(s, token);
    size_t keep = hit ? (size_t)(hit - s) : strlen(s);
    memcpy(o, s, keep);
    o += keep;
    if (!hit) break;
    memcpy(o, with, wlen);
    o += wlen;
    s = hit + tlen;
  }
  *o = '\0';
  return out;
}

/* Whether an environment entry is one of forksrv's own variables (fifo/protocol.h's list). */
static int is_ours(const char *entry) {
  for (unsigned v = 0; v < FIFO_NVARS; v++) {
    size_t n = strlen(fifo_var_name(v));
    if (strncmp(entry, fifo_var_name(v), n) == 0 && entry[n] == '=') return 1;
  }
  return 0;
}

static void free_env(char **envp) {
  if (!envp) return;
  for (char **e = envp; *e; e++) free(*e);
  free(envp);
}

/* Every sanitizer's finding ends the execution as a crash (SIGABRT), as AFL++ also arranges, not as
 * an exit code: ASan's and LSan's report then abort, UBSan and MSan stop at the first error and
 * abort. And no link-order check for ASan, since the preload comes before a gcc-built target's
 * libasan, which ASan would otherwise refuse. */
const struct drv_sanitizer_default drv_sanitizer_defaults[] = {
    {"ASAN_OPTIONS", "verify_asan_link_order=0:abort_on_error=1"},
    {"UBSAN_OPTIONS", "halt_on_error=1:abort_on_error=1"},
    {"MSAN_OPTIONS", "halt_on_error=1:abort_on_error=1"},
    {"LSAN_OPTIONS", "abort_on_error=1"},
    {NULL, NULL},
};

/* The value the user gave abort_on_error in any of the sanitizers' variables ("" if none): the
 * sanitizers linked into one program share it (a UBSan or LSan default would override an ASAN_OPTIONS
 * that turns it off), so what the user said in one holds in all. */
static const char *own_abort_on_error(char *buf, size_t cap) {
  buf[0] = '\0';
  for (const struct drv_sanitizer_default *d = drv_sanitizer_defaults; d->var && !buf[0]; d++) {
    const char *own = getenv(d->var), *at = NULL;
    for (const char *p = own ? strstr(own, "abort_on_error=") : NULL; p; p = strstr(p + 1, "abort_on_error="))
      if (p == own || p[-1] == ':' || p[-1] == ' ' || p[-1] == ',') at = p;
    if (at) snprintf(buf, cap, ":%.*s", (int)strcspn(at, ": ,"), at);
  }
  return buf;
}

char *drv_sanitizer_entry(const struct drv_sanitizer_default *d) {
  const char *own = getenv(d->var);
  char abort_on_error[64], *out = NULL;
  if (asprintf(&out, "%s=%s%s%s%s", d->var, d->defaults, own_abort_on_error(abort_on_error, sizeof abort_on_error),
               own && *own ? ":" : "", own ? own : "") < 0)
    return NULL;
  return out;
}

static int is_sanitizer_entry(const char *entry) {
  for (const struct drv_sanitizer_default *d = drv_sanitizer_defaults; d->var; d++) {
    size_t n = strlen(d->var);
    if (strncmp(entry, d->var, n) == 0 && entry[n] == '=') return 1;
  }
  return 0;
}

/* The caller's environment without forksrv's variables, with `extra` entries added and any entry of
 * the same name replaced, and the sanitizers' options with forksrv's defaults before the caller's. */
static char **build_env(char *const *extra, size_t nextra) {
  size_t n = 0, nsan = 0;
  for (char **e = environ; *e; e++) n++;
  while (drv_sanitizer_defaults[nsan].var) nsan++;
  char **out = calloc(n + nextra + nsan + 1, sizeof *out);
  if (!out) return NULL;
  size_t k = 0;
  for (char **e = environ; *e; e++) {
    if (is_ours(*e) || is_sanitizer_entry(*e)) continue;
    int replaced = 0;
    for (size_t i = 0; i < nextra && !replaced; i++) {
      size_t len = strcspn(extra[i], "=");
      replaced = strncmp(*e, extra[i], len + 1) == 0;
    }
    if (!replaced && !(out[k++] = strdup(*e))) goto oom;
  }
  for (size_t i = 0; i < nextra; i++)
    if (!(out[k++] = strdup(extra[i]))) goto oom;
  for (size_t i = 0; i < nsan; i++)
    if (!(out[k++] = drv_sanitizer_entry(&drv_sanitizer_defaults[i]))) goto oom;
  return out;
oom:
  free_env(out);
  return NULL;
}

int drv_takes_path(char *const *argv) {
  for (; argv && *argv; argv++)
    if (strstr(*argv, "@@")) return 1;
  return 0;
}

/* A capture of fd 1 or 2 (capture.c). */
static int capture(struct drv_spawn *sp, const char *name) {
  int fd = drv_fd_above_stdio(drv_capture_open(name));
  if (fd < 0) return fail(sp, "%s capture: %s", name, strerror(errno));
  return fd;
}

int drv_spawn_init(struct drv_spawn *sp, char *const *argv, const char *input_path, int stdin_fd, int show_output,
                   int capture_stdout, int capture_stderr) {
  memset(sp, 0, sizeof *sp);
  sp->stdin_fd = sp->null_fd = sp->stdout_fd = sp->stderr_fd = sp->stdout_capture = sp->stderr_capture = -1;
  if (!argv || !argv[0]) return fail(sp, "no target given");
  sp->exe = resolve(argv[0]);
  struct stat st;
  if (!sp->exe) return fail(sp, "cannot execute %s: %s", argv[0], strerror(errno));
  if (stat(sp->exe, &st) < 0) return fail(sp, "cannot execute %s: %s", argv[0], strerror(errno));
  if (S_ISDIR(st.st_mode)) return fail(sp, "cannot execute %s: %s", argv[0], strerror(EISDIR));

  size_t n = 0;
  while (argv[n]) n++;
  if (!(sp->argv = calloc(n + 1, sizeof *sp->argv))) return fail(sp, "calloc: %s", strerror(errno));
  for (size_t i = 0; i < n; i++)
    if (!(sp->argv[i] = replace_all(argv[i], "@@", input_path))) return fail(sp, "malloc: %s", strerror(errno));

  sp->null_fd = drv_fd_above_stdio(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (sp->null_fd < 0) return fail(sp, "open /dev/null: %s", strerror(errno));
  sp->stdin_fd = stdin_fd >= 0 ? stdin_fd : sp->null_fd;
  /* --show-output: the caller's own fds, so that a terminal stays one, unless a capture is wanted. */
  if (capture_stdout) {
    if ((sp->stdout_fd = sp->stdout_capture = capture(sp, "forksrv-stdout")) < 0) return -1;
  } else if (show_output) {
    if ((sp->stdout_fd = fcntl(1, F_DUPFD_CLOEXEC, 3)) < 0) return fail(sp, "dup stdout: %s", strerror(errno));
  } else {
    sp->stdout_fd = sp->null_fd;
  }
  if (capture_stderr || !show_output) {
    if ((sp->stderr_fd = sp->stderr_capture = capture(sp, "forksrv-stderr")) < 0) return -1;
  } else if ((sp->stderr_fd = fcntl(2, F_DUPFD_CLOEXEC, 3)) < 0) {
    return fail(sp, "dup stderr: %s", strerror(errno));
  }
  char plain[] = FIFO_ENV_PLAIN "=1", *extra[] = {plain};
  if (!(sp->plain_envp = build_env(extra, 1))) return fail(sp, "environment: %s", strerror(errno));
  return 0;
}

/* start: the value of FORKSRV_START, or NULL for the earliest start point. bind_now: set LD_BIND_NOW=1
 * for the server, so that no child binds a symbol lazily: a lazy binding costs each child page faults
 * in the loader (docs/benchmarks.md has the count), and the server's one binding serves them all. */
int drv_spawn_env(struct drv_spawn *sp, const char *req, const char *rep, const char *preload, const char *start,
                  const char *input, int input_is_stdin, int bind_now, int snapshot) {
  const char *old = getenv("LD_PRELOAD");
  char *extra[12] = {NULL};
  size_t n = 0;
  int ok = asprintf(&extra[n++], FIFO_ENV_REQUEST "=%s", req) >= 0 &&
           asprintf(&extra[n++], FIFO_ENV_REPLY "=%s", rep) >= 0 && asprintf(&extra[n++], FIFO_ENV_DEBUG "=1") >= 0 &&
           asprintf(&extra[n++], "LD_PRELOAD=%s%s%s", old ? old : "", old && *old ? ":" : "", preload) >= 0 &&
           (!start || asprintf(&extra[n++], FIFO_ENV_START "=%s", start) >= 0) &&
           asprintf(&extra[n++], FIFO_ENV_INPUT "=%s", input) >= 0 &&
           (!input_is_stdin || asprintf(&extra[n++], FIFO_ENV_INPUT_STDIN "=1") >= 0) &&
           (!snapshot || asprintf(&extra[n++], FIFO_ENV_RESET "=snapshot") >= 0) &&
           asprintf(&extra[n++], FIFO_ENV_TARGET_PID "=%0*d", PID_DIGITS, 0) >= 0 &&
           (!bind_now ||
            (asprintf(&extra[n++], "LD_BIND_NOW=1") >= 0 && asprintf(&extra[n++], FIFO_ENV_BIND_NOW "=1") >= 0));
  char **envp = ok ? build_env(extra, n) : NULL;
  for (size_t i = 0; i < n; i++) free(extra[i]);
  if (!envp) return -1;
  free_env(sp->server_envp);
  sp->server_envp = envp;
  sp->pid_digits = NULL;
  for (char **e = envp; *e; e++)
    if (!strncmp(*e, FIFO_ENV_TARGET_PID "=", sizeof FIFO_ENV_TARGET_PID)) sp->pid_digits = *e + sizeof FIFO_ENV_TARGET_PID;
  return 0;
}

/* In the child, before exec: its own pid into FIFO_ENV_TARGET_PID's digits (no allocation after fork). */
static void put_pid(char *digits) {
  if (!digits) return;
  unsigned long pid = (unsigned long)getpid();
  for (int i = PID_DIGITS - 1; i >= 0; i--, pid /= 10) digits[i] = (char)('0' + pid % 10);
}

static __attribute__((noreturn)) void become_target(struct drv_spawn *sp, pid_t parent, int errw) {
  /* Its own process group: a timeout kills what it started, and the terminal's signals reach only the
   * driver, which then stops everything in order. */
  setpgid(0, 0);
  int err = 0;
  if (dup2(sp->stdin_fd, 0) < 0 || dup2(sp->stdout_fd, 1) < 0 || dup2(sp->stderr_fd, 2) < 0) err = errno;
  /* Until a server takes over, nothing must outlive a driver that was killed. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  put_pid(sp->pid_digits);
  if (!err) {
    execve(sp->exe, sp->argv, sp->server_envp);
    err = errno;
  }
  while (write(errw, &err, sizeof err) < 0 && errno == EINTR) {}
  _exit(127);
}

int drv_spawn(struct drv_spawn *sp, int *exec_errno) {
  int ep[2];
  *exec_errno = 0;
  if (pipe2(ep, O_CLOEXEC) < 0) return fail(sp, "pipe2: %s", strerror(errno));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) become_target(sp, parent, ep[1]);
  int saved = errno;
  close(ep[1]);
  if (pid < 0) {
    close(ep[0]);
    errno = saved;
    return fail(sp, "fork: %s", strerror(errno));
  }
  int err = 0;
  ssize_t n;
  while ((n = read(ep[0], &err, sizeof err)) < 0 && errno == EINTR) {}
  close(ep[0]);
  if (n == 0) return pid;
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  *exec_errno = n == (ssize_t)sizeof err ? err : EIO;
  return fail(sp, "cannot execute %s: %s", sp->argv[0], strerror(*exec_errno));
}

int drv_ms_until(uint64_t deadline_us) {
  uint64_t now = drv_now_us();
  if (!deadline_us) return -1;
  return now >= deadline_us ? 0 : (int)((deadline_us - now + 999) / 1000);
}

uint64_t drv_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void drv_spawn_free(struct drv_spawn *sp) {
  free(sp->exe);
  if (sp->argv)
    for (char **a = sp->argv; *a; a++) free(*a);
  free(sp->argv);
  free_env(sp->plain_envp);
  free_env(sp->server_envp);
  if (sp->stdout_fd >= 0 && sp->stdout_fd != sp->null_fd) close(sp->stdout_fd);
  if (sp->stderr_fd >= 0) close(sp->stderr_fd);
  if (sp->null_fd >= 0) close(sp->null_fd);
  memset(sp, 0, sizeof *sp);
  sp->stdin_fd = sp->null_fd = sp->stdout_fd = sp->stderr_fd = sp->stdout_capture = sp->stderr_capture = -1;
}
