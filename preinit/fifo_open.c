/* Opening the FIFOs the environment names, trusting nothing the server did not check itself: the path
 * is first opened O_PATH (no side effect, whatever it is), checked to be a FIFO owned by our effective
 * uid that no one else may write, and only then opened for real through /proc/self/fd, so the checked
 * inode is the one used. Symlinks are followed: the driver names its FIFOs as /proc/<pid>/fd links,
 * and what counts is the inode they lead to. */
#include "../fifo/protocol.h"
#include "server.h"

/* A reader that has not opened its end yet (Centipede opens FIFO1 only after FIFO0) is waited for, but
 * not forever: a target whose peer never comes must still run. */
#define OPEN_PATIENCE_MS 10000

#define GROUP_WRITE 020
#define OTHER_WRITE 002
#define FIONREAD_REQ 0x541B

void fsrv_proc_fd_path(int pid, int fd, char out[48]) {
  char digits[24];
  const char *parts[] = {"/proc/", pid ? fsrv_decimal((unsigned long)pid, digits) : "self", "/fd/", 0};
  size_t n = 0;
  for (const char *const *p = parts; *p; p++)
    for (const char *c = *p; *c; c++) out[n++] = *c;
  for (const char *c = fsrv_decimal((unsigned long)fd, digits); *c; c++) out[n++] = *c;
  out[n] = '\0';
}

static long open_checked(const char *path, int flags, struct fsrv_why *why) {
  long probe = sys_open(path, O_PATH | O_CLOEXEC);
  if (probe < 0) {
    why->cause = FIFO_CAUSE_OPEN;
    return probe;
  }
  struct statx st;
  long r = sys_fstat((int)probe, &st);
  if (r < 0) {
    why->cause = FIFO_CAUSE_SYSCALL;
    why->call = "fstat";
  } else if ((st.stx_mode & S_IFMT) != S_IFIFO) {
    why->cause = FIFO_CAUSE_NOT_FIFO;
    r = -EINVAL;
  } else if (st.stx_uid != (uint32_t)sys_geteuid()) {
    why->cause = FIFO_CAUSE_NOT_OURS;
    r = -EPERM;
  } else if (st.stx_mode & (GROUP_WRITE | OTHER_WRITE)) {
    /* Anyone who may write it may send requests, or results to a driver. */
    why->cause = FIFO_CAUSE_WRITABLE;
    r = -EPERM;
  } else {
    char again[48];
    fsrv_proc_fd_path(0, (int)probe, again);
    struct timespec nap = {0, 1000000};
    for (int waited = 0;; waited++) {
      r = sys_open(again, flags | O_NONBLOCK | O_CLOEXEC);
      if (r != -ENXIO || waited >= OPEN_PATIENCE_MS) break;
      sys_nanosleep(&nap);
    }
    if (r < 0) why->cause = r == -ENXIO ? FIFO_CAUSE_NO_READER : FIFO_CAUSE_OPEN;
  }
  sys_close((int)probe);
  return r;
}

int fsrv_move_up(int fd, int min) {
  long moved = sys_fcntl(fd, F_DUPFD_CLOEXEC, min);
  if (moved < 0) return fd;
  sys_close(fd);
  return (int)moved;
}

int fsrv_same_fifo(int a, int b) {
  struct statx x, y;
  return sys_fstat(a, &x) == 0 && sys_fstat(b, &y) == 0 && x.stx_ino == y.stx_ino &&
         x.stx_dev_major == y.stx_dev_major && x.stx_dev_minor == y.stx_dev_minor;
}

/* Whether a peer holds the request FIFO open for writing. With none, the first read would see EOF
 * and end a server that never served: the target should rather run as it would without one. Only
 * an empty FIFO is read (O_NONBLOCK: EOF without a writer, EAGAIN with one); a byte that came in
 * between is handed back in *first. */
int fsrv_fifo_has_writer(int fd, int *first) {
  *first = -1;
  int queued = 0;
  if (sys_ioctl(fd, FIONREAD_REQ, &queued) < 0 || queued > 0) return 1;
  long fl = sys_fcntl(fd, F_GETFL, 0);
  if (fl < 0 || sys_fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return 1;
  unsigned char byte;
  long r = sys_read(fd, &byte, 1);
  sys_fcntl(fd, F_SETFL, fl);
  if (r == 1) *first = byte;
  return r != 0;
}

long fsrv_open_fifo(const char *path, int flags, struct fsrv_why *why) {
  long fd = open_checked(path, flags, why);
  if (fd < 0) return fd;
  fd = fsrv_move_up((int)fd, FSRV_HIGH_FD);
  long fl = sys_fcntl((int)fd, F_GETFL, 0);
  long r = fl < 0 ? fl : sys_fcntl((int)fd, F_SETFL, fl & ~O_NONBLOCK);
  if (r < 0) {
    why->cause = FIFO_CAUSE_SYSCALL;
    why->call = "fcntl";
    sys_close((int)fd);
    return r;
  }
  return fd;
}
