/* Bounded captures of a target's output. The target writes its memfd itself (no copy through the
 * driver, no pipe to drain), so the bound is kept while the driver waits for the result: it looks at
 * the sizes LOOK_FIRST_MS in (an execution over by then costs no look) and less often while they grow
 * slowly, punching out pages between head and tail; at the end the tail moves down behind a line
 * saying how much was cut, so readers see a short, ordinary file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"

#define LOOK_FIRST_MS 1
#define LOOK_MAX_MS 32
/* Growth between two looks that keeps the next one soon. */
#define FAST_GROWTH (DRV_CAPTURE_HEAD / 4)
#define PAGE 4096

int drv_capture_open(const char *name) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd >= 0 && fcntl(fd, F_SETFL, O_APPEND) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static off_t size_of(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? st.st_size : 0;
}

int drv_captures_reset(struct drv_captures *c) {
  for (int i = 0; i < 2; i++) {
    /* The size drv_captures_end saw spares a look per execution (what a process outside the
     * execution writes between two of them then counts for the next); without it, truncate anyway.
     * The offset goes back to 0 too: a target may clear O_APPEND on the description it shares with
     * us (fcntl(2, F_SETFL, O_NONBLOCK) does), and its next child would write past a hole. */
    if (c->fd[i] >= 0 && (!c->ended || c->seen[i] > 0) && (ftruncate(c->fd[i], 0) < 0 || lseek(c->fd[i], 0, SEEK_SET) < 0))
      return -1;
    c->seen[i] = c->punched[i] = 0;
  }
  c->look_ms = LOOK_FIRST_MS;
  c->ended = 0;
  return 0;
}

int drv_captures_wait_ms(const struct drv_captures *c, int ms) {
  if (c->fd[0] < 0 && c->fd[1] < 0) return ms;
  int look = c->look_ms ? c->look_ms : LOOK_FIRST_MS;
  return ms < 0 || ms > look ? look : ms;
}

void drv_captures_look(struct drv_captures *c) {
  int fast = 0;
  for (int i = 0; i < 2; i++) {
    if (c->fd[i] < 0) continue;
    off_t size = size_of(c->fd[i]);
    if (size - c->seen[i] > (off_t)FAST_GROWTH) fast = 1;
    c->seen[i] = size;
    off_t from = c->punched[i] > (off_t)DRV_CAPTURE_HEAD ? c->punched[i] : (off_t)DRV_CAPTURE_HEAD;
    off_t to = (size - (off_t)DRV_CAPTURE_TAIL) / PAGE * PAGE;
    /* Not for every page: once a head's worth is there to free. */
    if (to - from < (off_t)DRV_CAPTURE_HEAD) continue;
    if (fallocate(c->fd[i], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, to - from) == 0) c->punched[i] = to;
  }
  c->look_ms = fast ? LOOK_FIRST_MS : c->look_ms * 2 > LOOK_MAX_MS ? LOOK_MAX_MS : c->look_ms * 2;
}

void drv_captures_end(struct drv_captures *c, uint64_t cut[2]) {
  for (int i = 0; i < 2; i++) {
    cut[i] = 0;
    if (c->fd[i] < 0) continue;
    off_t size = c->seen[i] = size_of(c->fd[i]);
    if (size <= (off_t)(DRV_CAPTURE_HEAD + DRV_CAPTURE_TAIL)) continue;
    if (!c->tail && !(c->tail = malloc(DRV_CAPTURE_TAIL))) continue;
    ssize_t n = pread(c->fd[i], c->tail, DRV_CAPTURE_TAIL, size - (off_t)DRV_CAPTURE_TAIL);
    if (n != (ssize_t)DRV_CAPTURE_TAIL || ftruncate(c->fd[i], DRV_CAPTURE_HEAD) < 0) continue;
    cut[i] = (uint64_t)size - DRV_CAPTURE_HEAD - DRV_CAPTURE_TAIL;
    char line[160];
    int len = snprintf(line, sizeof line,
                       "\n[forksrv: %llu bytes cut here: a capture keeps the first %u and the last %u bytes of an "
                       "execution]\n",
                       (unsigned long long)cut[i], DRV_CAPTURE_HEAD, DRV_CAPTURE_TAIL);
    /* At explicit offsets, whether or not the target left O_APPEND set (with it, Linux appends, which
     * is the same place). A failed write leaves a shorter capture, nothing worse. */
    if (pwrite(c->fd[i], line, (size_t)len, DRV_CAPTURE_HEAD) == len &&
        pwrite(c->fd[i], c->tail, DRV_CAPTURE_TAIL, DRV_CAPTURE_HEAD + len) < 0) {}
  }
  c->punched[0] = c->punched[1] = 0;
  c->ended = 1;
}

void drv_captures_free(struct drv_captures *c) {
  free(c->tail);
  c->tail = NULL;
}
