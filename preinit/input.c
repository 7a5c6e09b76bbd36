/* libforksrv_input.so, the input start point (`forksrv --start input`): it interposes the libc calls
 * through which a program can touch its input (a path to the input file's inode, however spelt, or
 * stdin) and starts the server inside the first that does; each child then makes the real call with
 * its own input. libc-free like the server, and every real function is found before the first fork,
 * so that no child looks one up. */
#include <stdarg.h>

#include "../fifo/protocol.h"
#include "server.h"

typedef struct _IO_FILE FILE;
typedef long ssize_t;
typedef unsigned int wint_t;
typedef int wchar_t;

/* In libforksrv.so. */
extern const char *forksrv_input_spec(int *is_stdin);
extern int forksrv_input_server(const char *call, uint64_t shared_fds);
extern __attribute__((noreturn)) void forksrv_input_refuse(unsigned code, const char *call);

/* The input file's inode, which every path and fd is compared with. */
static uint32_t input_dev_major, input_dev_minor;
static uint64_t input_ino;
static int watch_stdin;
static volatile int armed;
static FILE **stdin_var;

#define SEEK_END_ 2
#define AT_EMPTY_PATH_ 0x1000

/* Every real function: a pointer each, and a table to resolve them all before the first fork. */
#define HOOKS(X)                                                                                   \
  X(int, open, (const char *, int, ...))                                                          \
  X(int, open64, (const char *, int, ...))                                                        \
  X(int, __open_2, (const char *, int))                                                           \
  X(int, __open64_2, (const char *, int))                                                         \
  X(int, openat, (int, const char *, int, ...))                                                   \
  X(int, openat64, (int, const char *, int, ...))                                                 \
  X(int, __openat_2, (int, const char *, int))                                                    \
  X(int, __openat64_2, (int, const char *, int))                                                  \
  X(FILE *, fopen, (const char *, const char *))                                                  \
  X(FILE *, fopen64, (const char *, const char *))                                                \
  X(FILE *, freopen, (const char *, const char *, FILE *))                                        \
  X(FILE *, freopen64, (const char *, const char *, FILE *))                                      \
  X(int, stat, (const char *, void *))                                                            \
  X(int, stat64, (const char *, void *))                                                          \
  X(int, lstat, (const char *, void *))                                                           \
  X(int, lstat64, (const char *, void *))                                                         \
  X(int, fstatat, (int, const char *, void *, int))                                               \
  X(int, fstatat64, (int, const char *, void *, int))                                             \
  X(int, __xstat, (int, const char *, void *))                                                    \
  X(int, __xstat64, (int, const char *, void *))                                                  \
  X(int, __lxstat, (int, const char *, void *))                                                   \
  X(int, __lxstat64, (int, const char *, void *))                                                 \
  X(int, __fxstatat, (int, int, const char *, void *, int))                                       \
  X(int, __fxstatat64, (int, int, const char *, void *, int))                                     \
  X(int, statx, (int, const char *, int, unsigned, void *))                                       \
  X(int, access, (const char *, int))                                                             \
  X(int, faccessat, (int, const char *, int, int))                                                \
  X(int, euidaccess, (const char *, int))                                                         \
  X(int, eaccess, (const char *, int))                                                            \
  X(ssize_t, readlink, (const char *, char *, size_t))                                            \
  X(ssize_t, readlinkat, (int, const char *, char *, size_t))                                     \
  X(char *, realpath, (const char *, char *))                                                     \
  X(char *, __realpath_chk, (const char *, char *, size_t))                                       \
  X(void *, opendir, (const char *))                                                              \
  X(ssize_t, read, (int, void *, size_t))                                                         \
  X(ssize_t, __read_chk, (int, void *, size_t, size_t))                                           \
  X(ssize_t, readv, (int, const void *, int))                                                     \
  X(ssize_t, pread, (int, void *, size_t, long))                                                  \
  X(ssize_t, pread64, (int, void *, size_t, long))                                                \
  X(ssize_t, __pread_chk, (int, void *, size_t, long, size_t))                                    \
  X(ssize_t, __pread64_chk, (int, void *, size_t, long, size_t))                                  \
  X(ssize_t, preadv, (int, const void *, int, long))                                              \
  X(ssize_t, preadv64, (int, const void *, int, long))                                            \
  X(int, fstat, (int, void *))                                                                    \
  X(int, fstat64, (int, void *))                                                                  \
  X(int, __fxstat, (int, int, void *))                                                            \
  X(int, __fxstat64, (int, int, void *))                                                          \
  X(long, lseek, (int, long, int))                                                                \
  X(long, lseek64, (int, long, int))                                                              \
  X(size_t, fread, (void *, size_t, size_t, FILE *))                                              \
  X(size_t, fread_unlocked, (void *, size_t, size_t, FILE *))                                     \
  X(size_t, __fread_chk, (void *, size_t, size_t, size_t, FILE *))                                \
  X(size_t, __fread_unlocked_chk, (void *, size_t, size_t, size_t, FILE *))                       \
  X(char *, fgets, (char *, int, FILE *))                                                         \
  X(char *, fgets_unlocked, (char *, int, FILE *))                                                \
  X(char *, __fgets_chk, (char *, size_t, int, FILE *))                                           \
  X(char *, __fgets_unlocked_chk, (char *, size_t, int, FILE *))                                  \
  X(int, fgetc, (FILE *))                                                                         \
  X(int, getc, (FILE *))                                                                          \
  X(int, _IO_getc, (FILE *))                                                                      \
  X(int, fgetc_unlocked, (FILE *))                                                                \
  X(int, getc_unlocked, (FILE *))                                                                 \
  X(int, getchar, (void))                                                                         \
  X(int, getchar_unlocked, (void))                                                                \
  X(int, __uflow, (FILE *))                                                                       \
  X(int, __underflow, (FILE *))                                                                   \
  X(ssize_t, getline, (char **, size_t *, FILE *))                                                \
  X(ssize_t, getdelim, (char **, size_t *, int, FILE *))                                          \
  X(ssize_t, __getdelim, (char **, size_t *, int, FILE *))                                        \
  X(wint_t, fgetwc, (FILE *))                                                                     \
  X(wint_t, getwc, (FILE *))                                                                      \
  X(wint_t, getwchar, (void))                                                                     \
  X(wchar_t *, fgetws, (wchar_t *, int, FILE *))                                                  \
  X(int, dup, (int))                                                                              \
  X(int, dup2, (int, int))                                                                        \
  X(int, dup3, (int, int, int))                                                                   \
  X(int, fcntl, (int, int, ...))                                                                  \
  X(int, fcntl64, (int, int, ...))                                                                \
  X(int, vfscanf, (FILE *, const char *, va_list))                                                \
  X(int, __isoc99_vfscanf, (FILE *, const char *, va_list))                                       \
  X(int, __isoc23_vfscanf, (FILE *, const char *, va_list))                                       \
  X(long, syscall, (long, ...))

#define POINTER(ret, name, params) static ret(*real_##name) params;
HOOKS(POINTER)

#define ENTRY(ret, name, params) {#name, (void **)&real_##name},
static const struct {
  const char *name;
  void **real;
} reals[] = {HOOKS(ENTRY)};

static void *resolve(void **slot, const char *name) {
  if (!*slot) *slot = fsrv_next_symbol(name);
  return *slot;
}
#define REAL(name) ((__typeof__(real_##name))resolve((void **)&real_##name, #name))

/* Descriptors that share stdin's open file (libxml2 reads dup(0), say): reading them is reading it. */
#define MAX_ALIASES 8
static int aliases[MAX_ALIASES], naliases;

static int same_inode(const struct statx *st) {
  return st->stx_ino == input_ino && st->stx_dev_major == input_dev_major && st->stx_dev_minor == input_dev_minor;
}

/* Whether path, relative to dfd as the *at calls take it, leads to the input file (links followed:
 * a stat of a link to it is taken as a touch too, which only forks earlier). */
static int is_input_at(int dfd, const char *path) {
  struct statx st;
  if (!input_ino || !path) return 0;
  return sys_statx(dfd, path, 0, STATX_INO, &st) == 0 && same_inode(&st);
}
static int is_input(const char *path) { return is_input_at(SYS_AT_FDCWD, path); }
static int is_stdin_fd(int fd) {
  if (!watch_stdin) return 0;
  if (fd == 0) return 1;
  for (int i = 0; i < naliases; i++)
    if (aliases[i] == fd) return 1;
  return 0;
}
static int alias(int from, int to) {
  if (to >= 0 && armed && is_stdin_fd(from) && !is_stdin_fd(to) && naliases < MAX_ALIASES) aliases[naliases++] = to;
  return to;
}
static int is_stdin(FILE *f) { return watch_stdin && stdin_var && f && f == *stdin_var; }

__attribute__((constructor)) static void arm(void) {
  const char *spec = forksrv_input_spec(&watch_stdin);
  struct statx st;
  if (!spec || sys_statx(SYS_AT_FDCWD, spec, 0, STATX_INO, &st) < 0) return;
  input_ino = st.stx_ino;
  input_dev_major = st.stx_dev_major;
  input_dev_minor = st.stx_dev_minor;
  stdin_var = (FILE **)fsrv_next_object("stdin");
  armed = 1;
}

/* Data read from stdin through stdio before the fork point would be in every child's buffer. glibc's
 * FILE starts with its flags and then the read pointer and end (struct _IO_FILE, public ABI). */
static int stdin_buffered(void) {
  if (!watch_stdin || !stdin_var || !*stdin_var) return 0;
  char **read_ptr = (char **)((char *)*stdin_var + sizeof(long));
  return read_ptr[0] != read_ptr[1];
}

/* Regular files other than the input open at the fork point: every child shares their offsets, and
 * fcntl locks are not inherited. A risk, not always a fault: said once per file, and told to the
 * driver in the hello (fds 3 to 66). */
static void warn_if_regular(void *ctx, const char *name) {
  long fd = 0;
  for (const char *c = name; *c >= '0' && *c <= '9'; c++) fd = fd * 10 + (*c - '0');
  struct statx st;
  /* fds 0-2 are the driver's (stdin is the input itself); the listing's own fd is a directory. */
  if (fd < 3 || sys_fstat((int)fd, &st) < 0 || (st.stx_mode & S_IFMT) != S_IFREG) return;
  if (fd < 3 + 64) *(uint64_t *)ctx |= 1ull << (fd - 3);
  char num[24];
  const char *parts[] = {"forksrv: warning: --start input: fd ", fsrv_decimal((unsigned long)fd, num),
                         " is a regular file open at the fork point: every child shares its offset, and "
                         "fcntl locks are not inherited",
                         0};
  fsrv_say_line(parts);
}

/* The first touch of the input: the fork point, inside `call`. */
static void fire(const char *call) {
  armed = 0;
  for (unsigned i = 0; i < sizeof reals / sizeof reals[0]; i++)
    if (!*reals[i].real) *reals[i].real = fsrv_next_symbol(reals[i].name);
  long threads = fsrv_count_threads();
  unsigned code = threads > 1 ? FIFO_NOTICE_INPUT_THREADS : stdin_buffered() ? FIFO_NOTICE_INPUT_BUFFERED : 0;
  char num[24];
  if (code) {
    const char *why = code == FIFO_NOTICE_INPUT_THREADS ? "threads are running, and a child would keep only this one"
                                                        : "stdin's stdio buffer already holds data read before it";
    const char *parts[] = {"forksrv: warning: --start input refused at the first ", call, "() of the input: ", why,
                           "; falling back to --start main", 0};
    fsrv_say_line(parts);
    forksrv_input_refuse(code, call);
  }
  uint64_t shared = 0;
  fsrv_each_entry("/proc/self/fd", warn_if_regular, &shared);
  const char *parts[] = {"forksrv: note: the first ", call, "() of the input, ",
                         fsrv_decimal(threads < 1 ? 1 : (unsigned long)threads, num), " thread", 0};
  fsrv_say_line(parts);
  forksrv_input_server(call, shared);
}

/* The hooks are what this library exports (the server's own names stay hidden). */
#pragma GCC visibility push(default)

#define TOUCH(cond, name)        \
  do {                           \
    if (armed && (cond)) fire(name); \
  } while (0)

/* --- by path --- */
static int mode_wanted(int flags) { return (flags & O_CREAT) || (flags & 020000000) == 020000000; /* O_TMPFILE */ }

/* open's third argument exists only with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags)                \
  unsigned mode = 0;                   \
  if (mode_wanted(flags)) {            \
    va_list ap;                        \
    va_start(ap, flags);               \
    mode = va_arg(ap, unsigned);       \
    va_end(ap);                        \
  }

#define OPEN_HOOK(name)                                \
  int name(const char *path, int flags, ...) {         \
    MODE_ARG(flags)                                    \
    TOUCH(is_input(path), #name);                      \
    return REAL(name)(path, flags, mode);              \
  }
OPEN_HOOK(open)
OPEN_HOOK(open64)

#define OPENAT_HOOK(name)                              \
  int name(int dfd, const char *path, int flags, ...) { \
    MODE_ARG(flags)                                    \
    TOUCH(is_input_at(dfd, path), #name);              \
    return REAL(name)(dfd, path, flags, mode);         \
  }
OPENAT_HOOK(openat)
OPENAT_HOOK(openat64)

int __open_2(const char *path, int flags) {
  TOUCH(is_input(path), "open");
  return REAL(__open_2)(path, flags);
}
int __open64_2(const char *path, int flags) {
  TOUCH(is_input(path), "open64");
  return REAL(__open64_2)(path, flags);
}
int __openat_2(int dfd, const char *path, int flags) {
  TOUCH(is_input_at(dfd, path), "openat");
  return REAL(__openat_2)(dfd, path, flags);
}
int __openat64_2(int dfd, const char *path, int flags) {
  TOUCH(is_input_at(dfd, path), "openat64");
  return REAL(__openat64_2)(dfd, path, flags);
}
FILE *fopen(const char *path, const char *mode) {
  TOUCH(is_input(path), "fopen");
  return REAL(fopen)(path, mode);
}
FILE *fopen64(const char *path, const char *mode) {
  TOUCH(is_input(path), "fopen64");
  return REAL(fopen64)(path, mode);
}
FILE *freopen(const char *path, const char *mode, FILE *f) {
  TOUCH(is_input(path) || (!path && is_stdin(f)), "freopen");
  return REAL(freopen)(path, mode, f);
}
FILE *freopen64(const char *path, const char *mode, FILE *f) {
  TOUCH(is_input(path) || (!path && is_stdin(f)), "freopen64");
  return REAL(freopen64)(path, mode, f);
}

#define STAT_HOOK(name)                      \
  int name(const char *path, void *st) {     \
    TOUCH(is_input(path), #name);            \
    return REAL(name)(path, st);             \
  }
STAT_HOOK(stat)
STAT_HOOK(stat64)
STAT_HOOK(lstat)
STAT_HOOK(lstat64)

/* An empty path with AT_EMPTY_PATH is dfd itself: stdin, or any fd of the input file. */
static int at_input(int dfd, const char *path, int flags) {
  if (path && !*path && (flags & AT_EMPTY_PATH_)) {
    struct statx st;
    return is_stdin_fd(dfd) || (input_ino && sys_statx(dfd, "", AT_EMPTY_PATH_, STATX_INO, &st) == 0 && same_inode(&st));
  }
  return is_input_at(dfd, path);
}

int fstatat(int dfd, const char *path, void *st, int flags) {
  TOUCH(at_input(dfd, path, flags), "fstatat");
  return REAL(fstatat)(dfd, path, st, flags);
}
int fstatat64(int dfd, const char *path, void *st, int flags) {
  TOUCH(at_input(dfd, path, flags), "fstatat64");
  return REAL(fstatat64)(dfd, path, st, flags);
}

#define XSTAT_HOOK(name)                              \
  int name(int ver, const char *path, void *st) {     \
    TOUCH(is_input(path), #name);                     \
    return REAL(name)(ver, path, st);                 \
  }
XSTAT_HOOK(__xstat)
XSTAT_HOOK(__xstat64)
XSTAT_HOOK(__lxstat)
XSTAT_HOOK(__lxstat64)

int __fxstatat(int ver, int dfd, const char *path, void *st, int flags) {
  TOUCH(at_input(dfd, path, flags), "fstatat");
  return REAL(__fxstatat)(ver, dfd, path, st, flags);
}
int __fxstatat64(int ver, int dfd, const char *path, void *st, int flags) {
  TOUCH(at_input(dfd, path, flags), "fstatat64");
  return REAL(__fxstatat64)(ver, dfd, path, st, flags);
}
int statx(int dfd, const char *path, int flags, unsigned mask, void *st) {
  TOUCH(at_input(dfd, path, flags), "statx");
  return REAL(statx)(dfd, path, flags, mask, st);
}
int access(const char *path, int mode) {
  TOUCH(is_input(path), "access");
  return REAL(access)(path, mode);
}
int faccessat(int dfd, const char *path, int mode, int flags) {
  TOUCH(at_input(dfd, path, flags), "faccessat");
  return REAL(faccessat)(dfd, path, mode, flags);
}
int euidaccess(const char *path, int mode) {
  TOUCH(is_input(path), "euidaccess");
  return REAL(euidaccess)(path, mode);
}
int eaccess(const char *path, int mode) {
  TOUCH(is_input(path), "eaccess");
  return REAL(eaccess)(path, mode);
}
ssize_t readlink(const char *path, char *buf, size_t n) {
  TOUCH(is_input(path), "readlink");
  return REAL(readlink)(path, buf, n);
}
ssize_t readlinkat(int dfd, const char *path, char *buf, size_t n) {
  TOUCH(is_input_at(dfd, path), "readlinkat");
  return REAL(readlinkat)(dfd, path, buf, n);
}
char *realpath(const char *path, char *resolved) {
  TOUCH(is_input(path), "realpath");
  return REAL(realpath)(path, resolved);
}
char *__realpath_chk(const char *path, char *resolved, size_t len) {
  TOUCH(is_input(path), "realpath");
  return REAL(__realpath_chk)(path, resolved, len);
}
void *opendir(const char *path) {
  TOUCH(is_input(path), "opendir");
  return REAL(opendir)(path);
}

/* --- stdin, as fd 0 --- */
ssize_t read(int fd, void *buf, size_t n) {
  TOUCH(is_stdin_fd(fd), "read");
  return REAL(read)(fd, buf, n);
}
ssize_t __read_chk(int fd, void *buf, size_t n, size_t len) {
  TOUCH(is_stdin_fd(fd), "read");
  return REAL(__read_chk)(fd, buf, n, len);
}
ssize_t readv(int fd, const void *iov, int count) {
  TOUCH(is_stdin_fd(fd), "readv");
  return REAL(readv)(fd, iov, count);
}
ssize_t pread(int fd, void *buf, size_t n, long off) {
  TOUCH(is_stdin_fd(fd), "pread");
  return REAL(pread)(fd, buf, n, off);
}
ssize_t pread64(int fd, void *buf, size_t n, long off) {
  TOUCH(is_stdin_fd(fd), "pread64");
  return REAL(pread64)(fd, buf, n, off);
}
ssize_t __pread_chk(int fd, void *buf, size_t n, long off, size_t len) {
  TOUCH(is_stdin_fd(fd), "pread");
  return REAL(__pread_chk)(fd, buf, n, off, len);
}
ssize_t __pread64_chk(int fd, void *buf, size_t n, long off, size_t len) {
  TOUCH(is_stdin_fd(fd), "pread64");
  return REAL(__pread64_chk)(fd, buf, n, off, len);
}
ssize_t preadv(int fd, const void *iov, int count, long off) {
  TOUCH(is_stdin_fd(fd), "preadv");
  return REAL(preadv)(fd, iov, count, off);
}
ssize_t preadv64(int fd, const void *iov, int count, long off) {
  TOUCH(is_stdin_fd(fd), "preadv64");
  return REAL(preadv64)(fd, iov, count, off);
}
/* fstat reveals the input's size, so it is a touch; isatty and fcntl's getters are not. */
int fstat(int fd, void *st) {
  TOUCH(is_stdin_fd(fd), "fstat");
  return REAL(fstat)(fd, st);
}
int fstat64(int fd, void *st) {
  TOUCH(is_stdin_fd(fd), "fstat64");
  return REAL(fstat64)(fd, st);
}
int __fxstat(int ver, int fd, void *st) {
  TOUCH(is_stdin_fd(fd), "fstat");
  return REAL(__fxstat)(ver, fd, st);
}
int __fxstat64(int ver, int fd, void *st) {
  TOUCH(is_stdin_fd(fd), "fstat64");
  return REAL(__fxstat64)(ver, fd, st);
}
/* Only a seek that looks at the end (or for data and holes) depends on the input. */
long lseek(int fd, long off, int whence) {
  TOUCH(is_stdin_fd(fd) && whence >= SEEK_END_, "lseek");
  return REAL(lseek)(fd, off, whence);
}
long lseek64(int fd, long off, int whence) {
  TOUCH(is_stdin_fd(fd) && whence >= SEEK_END_, "lseek64");
  return REAL(lseek64)(fd, off, whence);
}

/* Copies of stdin are watched too; a copy says nothing of the input's content. */
int dup(int fd) { return alias(fd, REAL(dup)(fd)); }
int dup2(int fd, int to) { return alias(fd, REAL(dup2)(fd, to)); }
int dup3(int fd, int to, int flags) { return alias(fd, REAL(dup3)(fd, to, flags)); }

#define F_DUPFD_ 0
#define F_DUPFD_CLOEXEC_ 1030
#define FCNTL_HOOK(name)                                                          \
  int name(int fd, int cmd, ...) {                                                \
    va_list ap;                                                                   \
    va_start(ap, cmd);                                                            \
    long arg = va_arg(ap, long); /* as glibc's own fcntl takes it: one word */    \
    va_end(ap);                                                                   \
    int r = REAL(name)(fd, cmd, arg);                                             \
    return cmd == F_DUPFD_ || cmd == F_DUPFD_CLOEXEC_ ? alias(fd, r) : r;         \
  }
FCNTL_HOOK(fcntl)
FCNTL_HOOK(fcntl64)

/* --- stdin, through stdio (glibc reads its buffer with internal calls that no hook above sees) --- */
size_t fread(void *buf, size_t size, size_t n, FILE *f) {
  TOUCH(is_stdin(f), "fread");
  return REAL(fread)(buf, size, n, f);
}
size_t fread_unlocked(void *buf, size_t size, size_t n, FILE *f) {
  TOUCH(is_stdin(f), "fread_unlocked");
  return REAL(fread_unlocked)(buf, size, n, f);
}
size_t __fread_chk(void *buf, size_t len, size_t size, size_t n, FILE *f) {
  TOUCH(is_stdin(f), "fread");
  return REAL(__fread_chk)(buf, len, size, n, f);
}
size_t __fread_unlocked_chk(void *buf, size_t len, size_t size, size_t n, FILE *f) {
  TOUCH(is_stdin(f), "fread_unlocked");
  return REAL(__fread_unlocked_chk)(buf, len, size, n, f);
}
char *fgets(char *s, int n, FILE *f) {
  TOUCH(is_stdin(f), "fgets");
  return REAL(fgets)(s, n, f);
}
char *fgets_unlocked(char *s, int n, FILE *f) {
  TOUCH(is_stdin(f), "fgets_unlocked");
  return REAL(fgets_unlocked)(s, n, f);
}
char *__fgets_chk(char *s, size_t len, int n, FILE *f) {
  TOUCH(is_stdin(f), "fgets");
  return REAL(__fgets_chk)(s, len, n, f);
}
char *__fgets_unlocked_chk(char *s, size_t len, int n, FILE *f) {
  TOUCH(is_stdin(f), "fgets_unlocked");
  return REAL(__fgets_unlocked_chk)(s, len, n, f);
}

#define GETC_HOOK(ret, name)          \
  ret name(FILE *f) {                 \
    TOUCH(is_stdin(f), #name);        \
    return REAL(name)(f);             \
  }
GETC_HOOK(int, fgetc)
GETC_HOOK(int, getc)
GETC_HOOK(int, _IO_getc)
GETC_HOOK(int, fgetc_unlocked)
GETC_HOOK(int, getc_unlocked)
GETC_HOOK(int, __uflow)
GETC_HOOK(int, __underflow)
GETC_HOOK(wint_t, fgetwc)
GETC_HOOK(wint_t, getwc)

int getchar(void) {
  TOUCH(watch_stdin, "getchar");
  return REAL(getchar)();
}
int getchar_unlocked(void) {
  TOUCH(watch_stdin, "getchar_unlocked");
  return REAL(getchar_unlocked)();
}
wint_t getwchar(void) {
  TOUCH(watch_stdin, "getwchar");
  return REAL(getwchar)();
}
wchar_t *fgetws(wchar_t *s, int n, FILE *f) {
  TOUCH(is_stdin(f), "fgetws");
  return REAL(fgetws)(s, n, f);
}
ssize_t getline(char **line, size_t *n, FILE *f) {
  TOUCH(is_stdin(f), "getline");
  return REAL(getline)(line, n, f);
}
ssize_t getdelim(char **line, size_t *n, int delim, FILE *f) {
  TOUCH(is_stdin(f), "getdelim");
  return REAL(getdelim)(line, n, delim, f);
}
ssize_t __getdelim(char **line, size_t *n, int delim, FILE *f) {
  TOUCH(is_stdin(f), "getdelim");
  return REAL(__getdelim)(line, n, delim, f);
}

/* The scanf family, by every name glibc's headers give it (C99 mode calls __isoc99_*, C23 mode
 * __isoc23_*): each forwards to the matching v*scanf of libc, stdin for the ones without a FILE. */
int vfscanf(FILE *f, const char *fmt, va_list ap) {
  TOUCH(is_stdin(f), "vfscanf");
  return REAL(vfscanf)(f, fmt, ap);
}
int __isoc99_vfscanf(FILE *f, const char *fmt, va_list ap) {
  TOUCH(is_stdin(f), "vfscanf");
  return REAL(__isoc99_vfscanf)(f, fmt, ap);
}
int __isoc23_vfscanf(FILE *f, const char *fmt, va_list ap) {
  TOUCH(is_stdin(f), "vfscanf");
  return REAL(__isoc23_vfscanf)(f, fmt, ap);
}
static FILE *libc_stdin(void) {
  if (!stdin_var) stdin_var = (FILE **)fsrv_next_object("stdin");
  return stdin_var ? *stdin_var : 0;
}

#define SCANF_HOOKS(prefix)                                                     \
  int prefix##vscanf(const char *fmt, va_list ap) {                             \
    return prefix##vfscanf(libc_stdin(), fmt, ap);                              \
  }                                                                             \
  int prefix##scanf(const char *fmt, ...) {                                     \
    va_list ap;                                                                 \
    va_start(ap, fmt);                                                          \
    int r = prefix##vfscanf(libc_stdin(), fmt, ap);                             \
    va_end(ap);                                                                 \
    return r;                                                                   \
  }                                                                             \
  int prefix##fscanf(FILE *f, const char *fmt, ...) {                           \
    va_list ap;                                                                 \
    va_start(ap, fmt);                                                          \
    int r = prefix##vfscanf(f, fmt, ap);                                        \
    va_end(ap);                                                                 \
    return r;                                                                   \
  }
SCANF_HOOKS()
SCANF_HOOKS(__isoc99_)
SCANF_HOOKS(__isoc23_)

/* --- system calls made through syscall(): openat2 has no libc wrapper of its own --- */
long syscall(long n, ...) {
  va_list ap;
  va_start(ap, n);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  if (armed) {
    int opens = n == __NR_openat || n == __NR_openat2;
#ifdef __NR_open
    if (n == __NR_open && is_input((const char *)a[0])) fire("open");
#endif
    if (opens && is_input_at((int)a[0], (const char *)a[1])) fire(n == __NR_openat ? "openat" : "openat2");
    if ((n == __NR_read || n == __NR_pread64 || n == __NR_readv || n == __NR_preadv) && is_stdin_fd((int)a[0]))
      fire("read");
  }
  return REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

#pragma GCC visibility pop
