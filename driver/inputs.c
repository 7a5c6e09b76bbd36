/* The inputs named by -i: a file is one input; a directory is every regular file below it, in sorted
 * order, leaving out hidden ones (.state, .gitkeep: as AFL++ does). A symlink named by -i is followed;
 * below it, symlinks to files count and symlinked directories are not followed, so a link loop ends
 * nothing and repeats nothing. Inputs are read whole, one at a time, when their turn comes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static struct cli_inputs *walking;
static size_t walk_first;
/* Walking ARG/. for an ARG that is a symlink to a directory (nftw would not enter the link itself):
 * paths are reported as ARG/..., the name the user gave. */
static const char *walk_arg;
static size_t walk_root_len;

static int add(struct cli_inputs *in, const char *path) {
  if (in->n == in->cap) {
    size_t cap = in->cap ? in->cap * 2 : 256;
    char **p = realloc(in->paths, cap * sizeof *p);
    if (!p) return -1;
    in->paths = p;
    in->cap = cap;
  }
  if (!(in->paths[in->n] = strdup(path))) return -1;
  in->n++;
  return 0;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  struct stat target;
  if (ftw->level > 0 && path[ftw->base] == '.') return type == FTW_D ? FTW_SKIP_SUBTREE : 0;
  int wanted = (type == FTW_F && S_ISREG(st->st_mode)) ||
               (type == FTW_SL && stat(path, &target) == 0 && S_ISREG(target.st_mode));
  if (wanted && walk_arg) {
    char *name = NULL;
    if (asprintf(&name, "%s%s", walk_arg, path + walk_root_len) < 0) return -1;
    int r = add(walking, name);
    free(name);
    return r;
  }
  if (wanted) return add(walking, path);
  if (type == FTW_DNR) cli_error("read directory %s: %s", path, strerror(EACCES));
  return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cli_collect(struct cli_inputs *in, const char *arg) {
  struct stat st;
  if (stat(arg, &st) < 0) {
    cli_error("input %s: %s", arg, strerror(errno));
    return -1;
  }
  if (S_ISREG(st.st_mode)) return add(in, arg);
  if (!S_ISDIR(st.st_mode)) {
    cli_error("input %s: not a regular file or directory", arg);
    return -1;
  }
  walking = in;
  walk_first = in->n;
  struct stat link;
  char *root = NULL;
  walk_arg = NULL;
  if (lstat(arg, &link) == 0 && S_ISLNK(link.st_mode)) {
    if (asprintf(&root, "%s/.", arg) < 0) {
      cli_error("input %s: %s", arg, strerror(errno));
      return -1;
    }
    walk_arg = arg;
    walk_root_len = strlen(root);
  }
  int r = nftw(root ? root : arg, visit, 32, FTW_PHYS | FTW_ACTIONRETVAL);
  free(root);
  walk_arg = NULL;
  if (r != 0) {
    cli_error("input %s: %s", arg, strerror(errno));
    return -1;
  }
  if (in->n > walk_first) qsort(in->paths + walk_first, in->n - walk_first, sizeof *in->paths, by_name);
  return 0;
}

/* --shard i/n: every input, sorted by path, is dealt to the n shards in turn, and only shard i's are
 * kept; so the n shards of a corpus are disjoint, together they are all of it, and the slice of a
 * shard does not depend on the order of -i options. */
void cli_shard(struct cli_inputs *in, unsigned i, unsigned n) {
  qsort(in->paths, in->n, sizeof *in->paths, by_name);
  /* A file named twice (a directory and a file in it) is one input of the corpus. */
  size_t unique = 0;
  for (size_t k = 0; k < in->n; k++) {
    if (unique && !strcmp(in->paths[k], in->paths[unique - 1]))
      free(in->paths[k]);
    else
      in->paths[unique++] = in->paths[k];
  }
  size_t kept = 0;
  for (size_t k = 0; k < unique; k++) {
    if (k % n == i - 1)
      in->paths[kept++] = in->paths[k];
    else
      free(in->paths[k]);
  }
  in->n = kept;
}

/* Returns 0, or an errno; the buffer is reused from one input to the next. */
int cli_read_input(const char *path, char **buf, size_t *len, unsigned *mode, struct timespec *mtime) {
  /* O_NONBLOCK: a path that became a FIFO since it was listed must not hang the run. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno;
  struct stat st;
  int err = fstat(fd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? 0 : EINVAL;
  if (err) {
    close(fd);
    return err;
  }
  *mode = st.st_mode & 0777;
  *mtime = st.st_mtim;
  size_t cap = (size_t)st.st_size + 1, got = 0;
  char *p = realloc(*buf, cap);
  if (!p) {
    close(fd);
    return ENOMEM;
  }
  *buf = p;
  for (;;) {
    if (got == cap) {
      cap *= 2;
      if (!(p = realloc(*buf, cap))) {
        close(fd);
        return ENOMEM;
      }
      *buf = p;
    }
    ssize_t n = read(fd, *buf + got, cap - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return err;
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  close(fd);
  *len = got;
  return 0;
}

void cli_free_inputs(struct cli_inputs *in) {
  for (size_t i = 0; i < in->n; i++) free(in->paths[i]);
  free(in->paths);
}
