/* Snapshot reset's descriptors: the snapshot's own fds, and the target's put back after each
 * execution. The own ones sit where the target cannot reach them: at or above its soft RLIMIT_NOFILE
 * (raised for the moment it takes to move them there; an fd above the limit stays valid), so that the
 * target's fds are numbered and limited as in a fresh fork. Where the hard limit leaves no room above
 * and cannot be raised, they take the highest numbers below it (docs/design.md says what that shows). */
#include "snapshot.h"

/* The soft limit of the moment, and the one to go back to once the own fds are placed. */
static struct rlimit64 nofile, raised;

/* Where the own fds go, for n of them: the limit is raised by n where the hard limit allows it (or
 * this child may raise that: CAP_SYS_RESOURCE), else they go just below it. */
unsigned snap_fds_place(struct snap *h, unsigned long n) {
  long r = sys4(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, &nofile);
  if (r < 0) return snap_failed(h, FIFO_RECORD_FDS, r);
  raised = nofile;
  raised.rlim_cur = nofile.rlim_cur + n;
  if (raised.rlim_max < raised.rlim_cur) raised.rlim_max = raised.rlim_cur;
  if (nofile.rlim_cur < 1ul << 30 && sys4(__NR_prlimit64, 0, RLIMIT_NOFILE, &raised, 0) == 0) {
    h->own_lo = (int)nofile.rlim_cur;
    return 0;
  }
  raised = nofile;
  if (nofile.rlim_cur < n + 3) return snap_failed(h, FIFO_RECORD_FDS, -EMFILE);
  h->own_lo = (int)(nofile.rlim_cur - n);
  return 0;
}

/* The limit as the target had it. */
void snap_fds_placed(struct snap *h) {
  (void)h;
  if (raised.rlim_cur != nofile.rlim_cur || raised.rlim_max != nofile.rlim_max)
    sys4(__NR_prlimit64, 0, RLIMIT_NOFILE, &nofile, 0);
  raised = nofile;
}

/* fd, moved among the own ones (close-on-exec) and remembered as one; negative stays negative. */
int snap_own_fd(struct snap *h, long fd) {
  if (fd < 0) return (int)fd;
  if (h->nown == h->max_own) {
    sys_close((int)fd);
    return -EMFILE;
  }
  long up = fd;
  if (fd < h->own_lo) {
    up = sys_fcntl((int)fd, F_DUPFD_CLOEXEC, h->own_lo);
    sys_close((int)fd);
    if (up < 0) return (int)up;
  }
  h->own[h->nown++] = (int)up;
  if (up > h->own_hi) h->own_hi = (int)up;
  return (int)up;
}

static int is_own(const struct snap *h, long fd) {
  if (fd < h->own_lo || fd > h->own_hi) return 0;
  for (unsigned i = 0; i < h->nown; i++)
    if (h->own[i] == fd) return 1;
  return 0;
}

static void save_fd(void *ctx, const char *name) {
  struct snap *h = ctx;
  long fd = fsrv_fd_named(name);
  if (is_own(h, fd) || h->record_error) return; /* the snapshot's own, the listing's among them */
  if (h->nfds == h->max_fds) {
    h->record_error = EMFILE;
    return;
  }
  struct saved_fd *f = &h->fd[h->nfds];
  long fdflags = sys_fcntl((int)fd, F_GETFD, 0);
  if (fdflags < 0 || fsrv_fd_state_get((int)fd, &f->st) < 0) return; /* a listing's own fd, closed since */
  f->cloexec = (int)(fdflags & FD_CLOEXEC);
  f->saved = snap_own_fd(h, sys_fcntl((int)fd, F_DUPFD_CLOEXEC, h->own_lo));
  if (f->saved < 0) h->record_error = (unsigned)-f->saved;
  h->nfds++;
}

/* How many fds are open: the size /proc/self/fd reports (Linux 6.2 and later; 0 before). */
unsigned long snap_open_count(struct snap *h) {
  struct statx st;
  return sys_fstat(h->fds, &st) < 0 ? 0 : (unsigned long)st.stx_size;
}

/* Each fd of the target kept by a duplicate of its own, with its flags and offset. */
unsigned snap_fds_record(struct snap *h) {
  long r = fsrv_each_entry_fd(h->fds, save_fd, h);
  if (r < 0 || h->record_error) return snap_failed(h, FIFO_RECORD_FDS, r < 0 ? r : -(long)h->record_error);
  h->nopen = snap_open_count(h);
  return h->nopen ? 0 : snap_failed(h, FIFO_RECORD_PROC, -ENOSYS);
}

static int open_at_snapshot(const struct snap *h, long fd) {
  for (unsigned i = 0; i < h->nfds; i++)
    if (h->fd[i].st.fd == fd) return 1;
  return 0;
}

static void close_new_fd(void *ctx, const char *name) {
  struct snap *h = ctx;
  long fd = fsrv_fd_named(name);
  if (!is_own(h, fd) && !open_at_snapshot(h, fd)) sys_close((int)fd);
}

/* A fd above the limit (one opened before the target lowered it, such as the server's own) cannot be
 * dup3'ed to; nothing could have replaced it either, but only the kernel can say it is the same open
 * file: otherwise the child is discarded. */
static int still_there(const struct saved_fd *f) {
  int self = (int)sys_getpid();
  if (sys5(__NR_kcmp, self, self, 0 /* KCMP_FILE */, f->st.fd, f->saved) != 0) return 0;
  return sys_fcntl(f->st.fd, F_SETFD, f->cloexec ? FD_CLOEXEC : 0) == 0;
}

/* What the execution opened is closed, what it closed or replaced comes back, with the flags and
 * (fds 3 and up on regular files) the offsets of the snapshot. Once the snapshot's fds are back, any
 * more open than then are new: only then are the fds open listed (close_range over the gaps would
 * visit every number up to ours, open or not, and even the listing costs more than the rest of the
 * put-back of fds). */
long snap_fds_restore(struct snap *h) {
  for (unsigned i = 0; i < h->nfds; i++) {
    const struct saved_fd *f = &h->fd[i];
    if (sys_dup3(f->saved, f->st.fd, f->cloexec ? O_CLOEXEC : 0) < 0 && !still_there(f)) return -1;
    sys_fcntl(f->st.fd, F_SETFL, f->st.flags);
    if (f->st.off >= 0) sys_lseek(f->st.fd, f->st.off, 0);
  }
  if (snap_open_count(h) != h->nopen) fsrv_each_entry_fd(h->fds, close_new_fd, h);
  return 0;
}
