/* The server's view of its environment, read without libc: /proc/self/environ through a streaming
 * parser (no fixed ARG_MAX buffer, so a 1 MiB environment works), AT_SECURE from /proc/self/auxv, and
 * the removal of forksrv's variables for the target's descendants, so that a shell it runs is a shell. */
#include "server.h"

void fsrv_env_init(struct fsrv_env_parser *p, struct fsrv_env_var *vars, unsigned nvars) {
  p->vars = vars;
  p->nvars = nvars;
  p->pos = 0;
  p->candidates = nvars >= 32 ? 0xffffffffu : (1u << nvars) - 1;
  p->copying = -1;
  p->vlen = 0;
  for (unsigned i = 0; i < nvars; i++) {
    vars[i].found = 0;
    vars[i].too_long = 0;
    vars[i].value[0] = '\0';
  }
}

static void end_entry(struct fsrv_env_parser *p) {
  if (p->copying >= 0) {
    struct fsrv_env_var *v = &p->vars[p->copying];
    v->value[p->vlen] = '\0';
    v->found = 1;
  }
  p->pos = 0;
  p->candidates = p->nvars >= 32 ? 0xffffffffu : (1u << p->nvars) - 1;
  p->copying = -1;
  p->vlen = 0;
}

static void name_byte(struct fsrv_env_parser *p, char c) {
  uint32_t still = 0;
  for (unsigned i = 0; i < p->nvars; i++) {
    if (!(p->candidates & (1u << i))) continue;
    const char *name = p->vars[i].name;
    unsigned k = 0;
    while (k < p->pos && name[k]) k++;
    if (k < p->pos) continue;
    if (name[k] == c) {
      still |= 1u << i;
    } else if (name[k] == '\0' && c == '=') {
      /* Like getenv, the first definition wins; later ones are skipped. */
      p->copying = p->vars[i].found ? -2 : (int)i;
      p->candidates = 0;
      return;
    }
  }
  p->candidates = still;
  p->pos++;
  if (!still) p->copying = -2;
}

void fsrv_env_feed(struct fsrv_env_parser *p, const char *buf, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = buf[i];
    if (c == '\0') {
      end_entry(p);
    } else if (p->copying >= 0) {
      struct fsrv_env_var *v = &p->vars[p->copying];
      if (p->vlen + 1 < sizeof v->value) {
        v->value[p->vlen++] = c;
      } else {
        v->too_long = 1;
      }
    } else if (p->copying == -1) {
      name_byte(p, c);
    }
  }
}

void fsrv_env_finish(struct fsrv_env_parser *p) {
  if (p->pos || p->copying != -1) end_entry(p);
}

long fsrv_read_file(const char *path, void (*consume)(void *ctx, const char *buf, size_t n), void *ctx) {
  /* One page per read: /proc files are generated a page at a time anyway. */
  char buf[4096];
  long fd = sys_open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  long r;
  for (;;) {
    r = sys_read((int)fd, buf, sizeof buf);
    if (r == -EINTR) continue;
    if (r <= 0) break;
    consume(ctx, buf, (size_t)r);
  }
  sys_close((int)fd);
  return r;
}

long fsrv_each_entry_fd(int fd, void (*each)(void *ctx, const char *name), void *ctx) {
  char buf[4096];
  long r = sys_lseek(fd, 0, 0);
  if (r < 0) return r;
  while ((r = sys3(__NR_getdents64, fd, buf, sizeof buf)) > 0) {
    for (long at = 0; at < r;) {
      const char *name = buf + at + 19; /* d_ino 8, d_off 8, d_reclen 2, d_type 1 */
      unsigned short reclen = (unsigned short)((unsigned char)buf[at + 16] | (unsigned char)buf[at + 17] << 8);
      if (name[0] != '.') each(ctx, name);
      at += reclen;
    }
  }
  return r;
}

long fsrv_each_entry(const char *dir, void (*each)(void *ctx, const char *name), void *ctx) {
  long fd = sys_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fd;
  long r = fsrv_each_entry_fd((int)fd, each, ctx);
  sys_close((int)fd);
  return r;
}

static void count(void *ctx, const char *name) {
  (void)name;
  ++*(long *)ctx;
}

long fsrv_count_entries(const char *dir) {
  long n = 0, r = fsrv_each_entry(dir, count, &n);
  return r < 0 ? r : n;
}

/* The threads of this process: the entries of /proc/self/task. */
long fsrv_count_threads(void) { return fsrv_count_entries("/proc/self/task"); }

static void feed_env(void *ctx, const char *buf, size_t n) { fsrv_env_feed(ctx, buf, n); }

long fsrv_env_read(struct fsrv_env_var *vars, unsigned nvars) {
  struct fsrv_env_parser p;
  fsrv_env_init(&p, vars, nvars);
  long r = fsrv_read_file("/proc/self/environ", feed_env, &p);
  fsrv_env_finish(&p);
  return r;
}

struct auxv_scan {
  unsigned long pair[2];
  unsigned have; /* bytes of pair filled */
  struct fsrv_auxv *out;
};

static void feed_auxv(void *ctx, const char *buf, size_t n) {
  struct auxv_scan *a = ctx;
  for (size_t i = 0; i < n; i++) {
    ((char *)a->pair)[a->have++] = buf[i];
    if (a->have < sizeof a->pair) continue;
    a->have = 0;
    if (a->pair[0] == SYS_AT_SECURE) a->out->secure = a->pair[1] != 0;
    if (a->pair[0] == SYS_AT_PHDR) a->out->phdr = a->pair[1];
    if (a->pair[0] == SYS_AT_PHNUM) a->out->phnum = a->pair[1];
    if (a->pair[0] == SYS_AT_SYSINFO_EHDR) a->out->vdso = a->pair[1];
  }
}

/* The few auxiliary-vector entries the server uses; absent ones stay -1 (secure) or 0. */
/* Read once: the auxv is fixed for the life of the exec, and start-up asks it three questions
 * (AT_SECURE, the executable's headers, the vDSO). A failed read is tried again. */
long fsrv_auxv_read(struct fsrv_auxv *out) {
  static struct fsrv_auxv kept;
  static int have_kept;
  if (have_kept) {
    *out = kept;
    return 0;
  }
  struct auxv_scan a = {.have = 0, .out = out};
  out->secure = -1;
  out->phdr = out->phnum = out->vdso = 0;
  long r = fsrv_read_file("/proc/self/auxv", feed_auxv, &a);
  if (r >= 0) kept = *out, have_kept = 1;
  return r;
}

/* 1 when the kernel says the process runs with elevated privileges (setuid, setgid, capabilities);
 * then the environment is the caller's, not ours to trust. An unreadable auxv counts as secure. */
long fsrv_at_secure(void) {
  struct fsrv_auxv a;
  if (fsrv_auxv_read(&a) < 0 || a.secure < 0) return 1;
  return a.secure;
}

static int names_var(const char *entry, const char *name) {
  while (*name && *entry == *name) entry++, name++;
  return *name == '\0' && *entry == '=';
}

/* The environment's entry for the variable, or NULL; and whether fsrv_env_scrub() has spoiled it since
 * (another copy of the server started). A program that rewrites its environment strings (to retitle
 * itself) leaves an entry that is neither. */
const char *fsrv_env_entry(char **envp, const char *name) {
  for (char **e = envp; e && *e; e++)
    if (names_var(*e, name)) return *e;
  return 0;
}
int fsrv_env_spoiled(const char *entry, const char *name) { return entry[0] == '_' && names_var(entry + 1, name + 1); }

/* Removes forksrv's variables from the environment array, so that a program the target execs does not
 * see them. The strings taken out go after the array's end, in the slots the others left: in an array
 * the program allocated (a retitle's copy) they may be its only pointers to them, and a leak checker
 * (LeakSanitizer) finds them there. An array without them is not written to (a program may point
 * environ at read-only memory). spoil: their names are spoiled in the strings themselves too, so that
 * another copy of the server (the static library and the preload both in one target) does not read
 * them either: the strings the process started with, on its stack, which /proc/self/environ shows. */
long fsrv_env_scrub(char **envp, struct fsrv_env_var *vars, unsigned nvars, int spoil) {
  long removed = 0;
  for (char **e = envp; e && *e;) {
    int ours = 0;
    for (unsigned i = 0; i < nvars && !ours; i++) ours = names_var(*e, vars[i].name);
    if (!ours) {
      e++;
      continue;
    }
    /* The rest moves down a slot, and the string goes where the end was. */
    char *taken = *e, **q = e;
    if (spoil) taken[0] = '_';
    for (; q[1]; q++) q[0] = q[1];
    q[0] = 0;
    q[1] = taken;
    removed++;
  }
  return removed;
}
