/* --crashes DIR: one input per distinct crash (its signal, and a sanitizer's finding or else the last
 * line of stderr) and each timeout, copied into DIR with the target's stderr (NAME.stderr), a shell
 * line that reproduces it (NAME.repro) and every input that ended the same way (NAME.inputs, one path
 * a line, the kept one first): 141 inputs of one bug are one crash to triage. forksrv runs as root
 * in CI over directories others may write, so DIR must be the user's own and writable by nobody
 * else, checked once on a directory fd that every file is then made through, with O_EXCL|O_NOFOLLOW:
 * no planted link is followed and no file overwritten, this run's or an earlier one's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../fifo/protocol.h"
#include "cli.h"
#include "spawn.h"

static int dir_fd = -1;
static char *dir_path; /* DIR's real path, for the .repro lines */

/* The inputs saved in this run, as a set of paths (open addressing), so that an input run N times
 * or named twice is saved once. */
static char **saved;
static size_t nsaved, saved_cap;

static size_t hash(const char *s) {
  size_t h = 1469598103934665603u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

/* 1 if path was in the set, 0 if it was added now, -1 without memory. */
static int seen(const char *path) {
  if (2 * (nsaved + 1) > saved_cap) {
    size_t cap = saved_cap ? saved_cap * 2 : 64;
    char **more = calloc(cap, sizeof *more);
    if (!more) return -1;
    for (size_t i = 0; i < saved_cap; i++)
      if (saved[i]) {
        size_t k = hash(saved[i]) & (cap - 1);
        while (more[k]) k = (k + 1) & (cap - 1);
        more[k] = saved[i];
      }
    free(saved);
    saved = more;
    saved_cap = cap;
  }
  size_t k = hash(path) & (saved_cap - 1);
  for (; saved[k]; k = (k + 1) & (saved_cap - 1))
    if (!strcmp(saved[k], path)) return 1;
  if (!(saved[k] = strdup(path))) return -1;
  nsaved++;
  return 0;
}

/* DIR's last component, opened as itself (O_PATH|O_NOFOLLOW: a link stays a link), so that every
 * check below is of the inode then used, not of a name that may since lead elsewhere. */
static int open_entry(const char *dir, int *parent) {
  char *copy = strdup(dir);
  if (!copy) return -1;
  size_t len = strlen(copy);
  while (len > 1 && copy[len - 1] == '/') copy[--len] = '\0';
  char *slash = strrchr(copy, '/');
  const char *base = slash ? slash + 1 : copy;
  if (slash == copy) *parent = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  else if (slash) *slash = '\0', *parent = open(copy, O_PATH | O_DIRECTORY | O_CLOEXEC);
  else *parent = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = *parent < 0 ? -1 : openat(*parent, *base ? base : ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  int err = errno;
  free(copy);
  errno = err;
  return fd;
}

/* The directory a link owned by the user leads to, resolved from the link's own directory with no
 * further link on the way (openat2's RESOLVE_NO_SYMLINKS; O_NOFOLLOW on the last component where
 * the kernel predates it), so that no one else's link can take part. */
static int open_link_target(int parent, int link) {
  char text[PATH_MAX];
  ssize_t n = readlinkat(link, "", text, sizeof text - 1);
  if (n < 0) return -1;
  text[n] = '\0';
  struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
  int fd = (int)syscall(SYS_openat2, parent, text, &how, sizeof how);
  if (fd < 0 && errno == ENOSYS) fd = openat(parent, text, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return fd;
}

int cli_crashes_open(const char *dir) {
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    cli_error("--crashes %s: %s", dir, strerror(errno));
    return -1;
  }
  int parent = -1, entry = open_entry(dir, &parent), fd = -1;
  struct stat st;
  const char *why = NULL;
  char what[128];
  if (entry < 0 || fstat(entry, &st) < 0) {
    why = strerror(errno);
  } else if (S_ISLNK(st.st_mode) && st.st_uid != geteuid()) {
    /* One planted in a shared directory would send the files wherever its owner likes. */
    snprintf(what, sizeof what, "a symbolic link owned by uid %u, not by uid %u: refusing to write through it",
             (unsigned)st.st_uid, (unsigned)geteuid());
    why = what;
  } else if (S_ISLNK(st.st_mode)) {
    if ((fd = open_link_target(parent, entry)) < 0)
      why = errno == ELOOP ? "a symbolic link whose target has links in it: refusing to follow them" : strerror(errno);
  } else if (!S_ISDIR(st.st_mode)) {
    why = strerror(ENOTDIR);
  } else {
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", entry);
    if ((fd = open(self, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) why = strerror(errno);
  }
  if (entry >= 0) close(entry);
  if (parent >= 0) close(parent);
  if (!why && fstat(fd, &st) < 0) {
    why = strerror(errno);
  } else if (!why && st.st_uid != geteuid()) {
    snprintf(what, sizeof what, "owned by uid %u, not by uid %u: refusing to write there (others could plant links in it)",
             (unsigned)st.st_uid, (unsigned)geteuid());
    why = what;
  } else if (!why && (st.st_mode & (S_IWGRP | S_IWOTH))) {
    snprintf(what, sizeof what, "writable by %s (mode %04o): refusing to write there (others could plant links in it)",
             st.st_mode & S_IWOTH ? "others" : "its group", (unsigned)(st.st_mode & 07777));
    why = what;
  }
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  if (!why && !(dir_path = realpath(link, NULL))) why = strerror(errno);
  if (why) {
    cli_error("--crashes %s: %s", dir, why);
    if (fd >= 0) close(fd);
    return -1;
  }
  dir_fd = fd;
  return 0;
}

static int write_all(int fd, const void *buf, size_t len) {
  for (size_t done = 0; done < len;) {
    ssize_t n = write(fd, (const char *)buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

/* A new file in DIR, never one that is there already, nor through a link. */
static int create(const char *name) {
  return openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

static int finish(int fd, int r) {
  int saved_errno = errno;
  if (close(fd) < 0 && r == 0) return -1;
  errno = saved_errno;
  return r;
}

static int save_bytes(int fd, const void *data, size_t len) { return finish(fd, write_all(fd, data, len)); }

static int save_fd(int fd, int from_fd) {
  char buf[65536];
  ssize_t n = 0;
  int r = 0;
  for (off_t at = 0; from_fd >= 0 && r == 0 && at < DRV_CAPTURE_MAX && (n = pread(from_fd, buf, sizeof buf, at)) > 0; at += n)
    r = write_all(fd, buf, (size_t)n);
  if (n < 0) r = -1;
  return finish(fd, r);
}

/* Single quotes for a shell, with any single quote inside spelt '\'' */
static void shell_quote(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++)
    if (*s == '\'')
      fputs("'\\''", f);
    else
      fputc(*s, f);
  fputc('\'', f);
}

/* arg with every '@@' replaced by path, as spawn.c gives it to the target. */
static void quote_arg(FILE *f, const char *arg, const char *path) {
  char *out = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&out, &len);
  if (!m) {
    shell_quote(f, arg);
    return;
  }
  for (const char *s = arg, *hit; *s; s = hit + 2) {
    if (!(hit = strstr(s, "@@"))) {
      fputs(s, m);
      break;
    }
    fwrite(s, 1, (size_t)(hit - s), m);
    fputs(path, m);
  }
  fclose(m);
  shell_quote(f, out ? out : arg);
  free(out);
}

/* One line that runs the target on the saved input without forksrv, as the driver's plain runs run
 * it: same directory, same sanitizers' options and FORKSRV_PLAIN=1, the input on stdin or in place of
 * every '@@'. */
static int save_repro(int fd, const struct cli_opts *o, const char *saved_path) {
  char cwd[PATH_MAX];
  FILE *f = fdopen(fd, "w");
  if (!f) return finish(fd, -1);
  if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
  fputs("cd ", f);
  shell_quote(f, cwd);
  fputs(" &&", f);
  for (const struct drv_sanitizer_default *d = drv_sanitizer_defaults; d->var; d++) {
    char *entry = drv_sanitizer_entry(d);
    if (!entry) {
      fclose(f);
      return -1;
    }
    fprintf(f, " %s=", d->var);
    shell_quote(f, entry + strlen(d->var) + 1);
    free(entry);
  }
  /* As the driver's plain runs: a harness main then runs its one input as under the server. */
  fputs(" " FIFO_ENV_PLAIN "=1", f);
  for (char **a = o->target; *a; a++) {
    fputc(' ', f);
    quote_arg(f, *a, saved_path);
  }
  fputs(" < ", f);
  shell_quote(f, o->by_path ? "/dev/null" : saved_path);
  fputc('\n', f);
  int r = ferror(f) ? -1 : 0, e = errno;
  if (fclose(f) != 0) return -1;
  errno = e;
  return r;
}

#define NFILES 4
static const char *const ext[NFILES] = {"", ".stderr", ".repro", ".inputs"};

static void unlink_stem(const char *stem, int upto) {
  for (int i = 0; i < upto; i++) {
    char name[NAME_MAX + 16];
    snprintf(name, sizeof name, "%s%s", stem, ext[i]);
    unlinkat(dir_fd, name, 0);
  }
}

/* A stem no file in DIR has: NAME and each NAME.EXT all made new, or NAME-2..., so that a crash
 * never meets another's files (an input called a.stderr beside one called a). The files are open on
 * fds[] on return; NULL with errno when they cannot be made. */
static char *claim(const char *base, int fds[NFILES]) {
  /* NAME-2.EXT, not NAME.EXT-2: the extension stays what the target was given. A name too long
   * for DIR with the suffixes added is cut before its extension, not refused. */
  const char *dot = cli_extension(base);
  int keep = (int)(dot - base), room = NAME_MAX - 16 - (int)strlen(dot);
  if (keep > room) keep = room > 1 ? room : 1;
  for (unsigned k = 1; k < 100000; k++) {
    char *stem = NULL;
    if ((k == 1 ? asprintf(&stem, "%.*s%s", keep, base, dot) : asprintf(&stem, "%.*s-%u%s", keep, base, k, dot)) < 0)
      return NULL;
    int i = 0;
    for (; i < NFILES; i++) {
      char name[NAME_MAX + 16];
      snprintf(name, sizeof name, "%s%s", stem, ext[i]);
      if ((fds[i] = create(name)) < 0) break;
    }
    if (i == NFILES) return stem;
    int err = errno;
    for (int m = 0; m < i; m++) close(fds[m]);
    unlink_stem(stem, i);
    free(stem);
    /* ELOOP: a symlink of that name (O_NOFOLLOW); taken, like any other file there. */
    if (err != EEXIST && err != ELOOP) {
      errno = err;
      return NULL;
    }
  }
  errno = EEXIST;
  return NULL;
}

/* The distinct crashes kept so far: what names each, and the stem its files have. */
struct kept {
  char *key, *stem;
};
static struct kept *kept;
static size_t nkept, kept_cap;

/* What names the crash: its signal, and what its stderr says (sanreport.c). */
static char *crash_key(const struct drv_result *r, int stderr_fd) {
  size_t len = 0;
  char *err = stderr_fd >= 0 ? cli_stderr_tail(stderr_fd, DRV_CAPTURE_MAX, &len) : NULL, found[4096], *key = NULL;
  cli_crash_key(err ? err : "", err ? len : 0, found, sizeof found, 1);
  free(err);
  return asprintf(&key, "%s %s", cli_signame(r->signal), found) < 0 ? NULL : key;
}

/* input as a line of NAME.inputs, on fd, which is closed. */
static int save_line(int fd, const char *input) {
  char *line = NULL;
  int n = asprintf(&line, "%s\n", input);
  if (n < 0) return finish(fd, -1);
  int r = save_bytes(fd, line, (size_t)n);
  free(line);
  return r;
}

/* One more input that ended as a kept crash did, added to NAME.inputs, which this run made. */
static int add_input(const char *stem, const char *input) {
  char name[NAME_MAX + 16];
  snprintf(name, sizeof name, "%s.inputs", stem);
  int fd = openat(dir_fd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  return fd < 0 ? -1 : save_line(fd, input);
}

static int no_memory(void) {
  cli_error("save crash: %s", strerror(ENOMEM));
  return -1;
}

/* A crash like one kept already: its input is added to that one's NAME.inputs (1); or 0, a new one,
 * whose key goes to *what; -1 after saying why. */
static int group(const struct drv_result *r, int stderr_fd, const char *input, char **what) {
  if (!(*what = crash_key(r, stderr_fd))) return no_memory();
  for (size_t i = 0; i < nkept; i++)
    if (!strcmp(kept[i].key, *what)) {
      free(*what);
      *what = NULL;
      if (add_input(kept[i].stem, input) == 0) return 1;
      cli_error("write %s/%s.inputs: %s", dir_path, kept[i].stem, strerror(errno));
      return -1;
    }
  if (nkept == kept_cap) {
    size_t cap = kept_cap ? kept_cap * 2 : 16;
    struct kept *more = realloc(kept, cap * sizeof *kept);
    if (!more) {
      free(*what);
      *what = NULL;
      return no_memory();
    }
    kept = more, kept_cap = cap;
  }
  return 0;
}

int cli_save_crash(const struct cli_opts *o, const char *input, const void *data, size_t len, int stderr_fd,
                   const struct drv_result *r) {
  const char *key = input ? input : "", *listed = input ? input : "-";
  int dup = seen(key);
  if (dup == 1) return 0;
  if (dup < 0) return no_memory();
  /* A timeout says nothing of where the target was: each is kept on its own. */
  char *what = NULL;
  int grouped = r->outcome == DRV_SIGNALLED ? group(r, stderr_fd, listed, &what) : 0;
  if (grouped != 0) return grouped < 0 ? -1 : 0;
  const char *base = input ? strrchr(input, '/') : NULL;
  base = base ? base + 1 : input && *input ? input : "empty-input";
  int fds[NFILES];
  char *stem = claim(base, fds);
  if (!stem) {
    free(what);
    cli_error("write %s/%s: %s", dir_path, base, strerror(errno));
    return -1;
  }
  char *path = NULL;
  if (asprintf(&path, "%s/%s", dir_path, stem) < 0) path = NULL;
  /* Each save closes its file; those after a failed one are closed unwritten. */
  const char *bad = NULL;
  int k = 0;
  if (!path) bad = "";
  else if (save_bytes(fds[k++], data, len) < 0) bad = "";
  else if (save_fd(fds[k++], stderr_fd) < 0) bad = ".stderr";
  else if (save_repro(fds[k++], o, path) < 0) bad = ".repro";
  else if (save_line(fds[k++], listed) < 0) bad = ".inputs";
  int err = errno;
  for (; k < NFILES; k++) close(fds[k]);
  if (bad) {
    cli_error("write %s%s: %s", path ? path : stem, bad, strerror(err));
    /* Half a crash is worse than none: the files just made go. */
    unlink_stem(stem, NFILES);
  }
  if (!bad && what) {
    kept[nkept++] = (struct kept){what, stem};
  } else {
    free(stem);
    free(what);
  }
  free(path);
  return bad ? -1 : 0;
}
