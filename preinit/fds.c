/* The state of the fds open at the fork point that lives in their open file descriptions, which every
 * child shares with the server (and, for 0-2, with the driver): status flags (O_APPEND, O_NONBLOCK)
 * and, for a regular file at 3 and up, the offset. A fresh start would have them as they were; after
 * each execution the server sets them back (a snapshot child does the same for itself). The driver
 * owns fds 0-2's offsets: it rewinds the input and empties the captures itself. */
#include "server.h"

long fsrv_fd_state_get(int fd, struct fsrv_fd_state *st) {
  long flags = sys_fcntl(fd, F_GETFL, 0);
  if (flags < 0) return flags;
  st->fd = fd;
  st->flags = (int)flags;
  struct statx x;
  st->off = fd >= 3 && sys_fstat(fd, &x) == 0 && (x.stx_mode & S_IFMT) == S_IFREG ? sys_lseek(fd, 0, 1) : -1;
  return 0;
}

void fsrv_fd_state_put(const struct fsrv_fd_state *st) {
  if (sys_fcntl(st->fd, F_GETFL, 0) != st->flags) sys_fcntl(st->fd, F_SETFL, st->flags);
  if (st->off >= 0) sys_lseek(st->fd, st->off, 0);
}

struct listing {
  struct fsrv *s;
  unsigned n;
  long own; /* the listing's own fd */
};

long fsrv_fd_named(const char *name) {
  long fd = 0;
  for (const char *c = name; *c; c++) fd = fd * 10 + (*c - '0');
  return fd;
}

static void keep_fd(void *ctx, const char *name) {
  struct listing *l = ctx;
  struct fsrv *s = l->s;
  long fd = fsrv_fd_named(name);
  if (fd == s->req || fd == s->rep || fd == l->own || s->nfds == l->n) return;
  if (fsrv_fd_state_get((int)fd, &s->fds[s->nfds]) == 0) s->nfds++; /* not the listing's own, closed */
}

/* At set-up, before the server opens fds of its own: the target's, in a table of their number. */
void fsrv_fds_record(struct fsrv *s) {
  long n = fsrv_count_entries("/proc/self/fd");
  struct listing l = {s, n > 0 ? (unsigned)n : 0, -1};
  s->nfds = 0;
  s->fds = 0;
  if (!l.n) return;
  unsigned long size = (l.n * sizeof *s->fds + 4095) & ~4095ul;
  long m = sys_mmap(size, 3 /* PROT_READ | PROT_WRITE */, SYS_MAP_PRIVATE_ANON_NORESERVE);
  l.own = sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if ((unsigned long)m > -4096ul || l.own < 0) {
    if (l.own >= 0) sys_close((int)l.own);
    if ((unsigned long)m <= -4096ul) sys_munmap((unsigned long)m, size);
    return;
  }
  s->fds = (struct fsrv_fd_state *)m;
  fsrv_each_entry_fd((int)l.own, keep_fd, &l);
  sys_close((int)l.own);
}

void fsrv_fds_restore(const struct fsrv *s) {
  for (unsigned i = 0; i < s->nfds; i++) fsrv_fd_state_put(&s->fds[i]);
}
