/* Snapshot reset's memory: every mapping at the fork point is registered with a userfaultfd in
 * asynchronous write-protect mode (Linux 6.7), so that the kernel marks each page an execution writes
 * and no fault reaches anyone; PAGEMAP_SCAN lists them, and only those are copied back, from a store
 * this child keeps or from the server's own memory (lent()). The cost follows the pages written, not
 * the target's size. */
#include "snapshot.h"

/* Copies n bytes (both page-aligned) without libc. */
static void copy(void *to, const void *from, unsigned long n) {
#if defined(__x86_64__)
  __asm__ volatile("rep movsb" : "+D"(to), "+S"(from), "+c"(n) : : "memory");
#else
  unsigned long *t = to;
  const unsigned long *f = from;
  for (unsigned long i = 0; i < n / sizeof *t; i++) t[i] = f[i];
#endif
}

/* Zeroes n bytes (page-aligned) without libc. */
static void zero(void *to, unsigned long n) {
#if defined(__x86_64__)
  __asm__ volatile("rep stosb" : "+D"(to), "+c"(n) : "a"(0) : "memory");
#else
  unsigned long *t = to;
  for (unsigned long i = 0; i < n / sizeof *t; i++) t[i] = 0;
#endif
}

/* --- /proc/self/maps, a line at a time --- */
struct map {
  unsigned long start, end;
  char r, w, x, p;
  int file;
  unsigned long inode;
  const char *name;
};

static unsigned long hex(const char **s) {
  unsigned long v = 0;
  for (;; (*s)++) {
    char c = **s;
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return v;
    v = v << 4 | (unsigned long)d;
  }
}

static unsigned long decimal(const char *s, const char *end) {
  unsigned long v = 0;
  for (; s < end && *s >= '0' && *s <= '9'; s++) v = v * 10 + (unsigned long)(*s - '0');
  return v;
}

static int parse_map(const char *s, struct map *m) {
  m->start = hex(&s);
  if (*s++ != '-') return -1;
  m->end = hex(&s);
  if (*s++ != ' ') return -1;
  m->r = s[0], m->w = s[1], m->x = s[2], m->p = s[3];
  s += 4;
  for (int field = 0; field < 3; field++) { /* offset, device, inode */
    while (*s == ' ') s++;
    const char *begin = s;
    while (*s && *s != ' ') s++;
    if (field == 2) m->file = !(s - begin == 1 && *begin == '0');
    if (field == 2) m->inode = decimal(begin, s);
  }
  while (*s == ' ') s++;
  m->name = s;
  return 0;
}

/* Calls each(h, map) for every mapping, in address order. */
static long each_map(struct snap *h, int (*each)(struct snap *h, const struct map *m)) {
  long fd = sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  unsigned have = 0;
  long r = 0;
  for (;;) {
    long n = sys_read((int)fd, h->line + have, sizeof h->line - 1 - have);
    if (n == -EINTR) continue;
    if (n <= 0) break;
    have += (unsigned)n;
    unsigned at = 0;
    for (unsigned i = at; i < have; i++) {
      if (h->line[i] != '\n') continue;
      h->line[i] = '\0';
      struct map m;
      if (parse_map(h->line + at, &m) < 0 || each(h, &m) < 0) r = -1;
      at = i + 1;
    }
    if (at == 0 && have == sizeof h->line - 1) r = -1, have = 0; /* a line longer than the buffer */
    for (unsigned i = at; i < have; i++) h->line[i - at] = h->line[i];
    have -= at;
  }
  sys_close((int)fd);
  return r;
}

static int special(const struct map *m) {
  return m->name[0] == '[' && m->name[1] == 'v'; /* [vdso], [vvar], [vvar_vclock], [vsyscall] */
}

static int unregistered(const struct snap *h, const struct map *m) {
  for (unsigned i = 0; i < h->nunregistered; i++)
    if (m->start >= h->unregistered[i][0] && m->end <= h->unregistered[i][1]) return 1;
  return 0;
}

/* What the kernel will not register for write-protect that is private, anonymous and writable
 * (MAP_DROPPABLE memory): copied back whole after each execution, so it must be small. */
#define COPY_MAX (1ul << 20)
static int copied(const struct map *m) { return m->w == 'w' && m->p == 'p' && !m->file && m->end - m->start < COPY_MAX; }

/* Never tracked: the kernel's own mappings, the snapshot's tables and store (which a scan would walk),
 * and any the kernel would not register. */
static int untracked(const struct snap *h, const struct map *m) {
  return unregistered(h, m) || special(m) || (h->data && m->start >= h->data_start && m->end <= h->data_end) ||
         (m->start >= h->tables_start && m->end <= h->tables_end);
}

/* A large anonymous mapping's pristine pages are read from the server, which forked this child and
 * never writes them (it runs no target code, and one thread), instead of copied into the store: the
 * copy of a 1 GiB heap cost each fresh child 0.5 to 3 s here. Small ones stay in the store, where a
 * put-back copies without a system call. */
#define LEND_MIN (1ul << 20)
/* The server does write two kinds of memory: forksrv's own statics, in the .bss of the object forksrv
 * is part of (libforksrv.so, or the program libforksrv.a is linked into, where a sanitizer's runtime
 * makes the .bss megabytes long; the linker marks where that .bss begins and ends), and the stack it
 * runs on, which need not be the [stack] mapping (a program may run on one it mapped itself). */
extern char __bss_start[] __attribute__((visibility("hidden"))), _end[] __attribute__((visibility("hidden")));
static int lent(const struct snap *h, const struct map *m) {
  unsigned long sp = (unsigned long)__builtin_frame_address(0);
  int ours = (m->start < (unsigned long)_end && m->end > (unsigned long)__bss_start) || (sp >= m->start && sp < m->end);
  return h->server && !ours && !m->file && m->w == 'w' && m->p == 'p' && m->end - m->start >= LEND_MIN &&
         m->name[0] != '[';
}

/* The server can lend its pages when it runs one thread (as it counted them before it forked: none
 * can start since) and this child may read its memory. */
static int server_lends(struct snap *h, const struct fsrv *s) {
  if (s->threads != 1) return 0;
  long ppid = sys_getppid();
  struct sys_iovec local = {h->line, 1}, remote = {(void *)server_lends, 1}; /* any page both map */
  return sys_process_vm_readv((int)ppid, &local, 1, &remote, 1) == 1 ? (int)ppid : 0;
}

/* A System V segment's mapping names it "/SYSV<key>" and gives its id as the inode. */
static int fuzzers(const struct snap *h, const struct map *m) {
  const char *n = m->name;
  return h->fuzzer_shm >= 0 && m->p == 's' && n[0] == '/' && n[1] == 'S' && n[2] == 'Y' && n[3] == 'S' && n[4] == 'V' &&
         m->inode == (unsigned long)h->fuzzer_shm;
}

static int own(const struct snap *h, const struct map *m) {
  return m->start == h->slot || (m->start >= h->self_start && m->end <= h->self_end) || fuzzers(h, m);
}

/* Pass one: every mapping the snapshot may track is registered for write-protect. One the kernel
 * will not register stays untracked, a boundary of the scan: if it is read-only (a device's), or
 * small, private and anonymous (copied back whole); any other could be written unseen, so nothing
 * is recorded. -1 with h->record_error, or when the tables are full (0). */
static int register_map(struct snap *h, const struct map *m) {
  if (untracked(h, m)) return 0;
  struct sys_uffdio_register reg = {m->start, m->end - m->start, SYS_UFFDIO_REGISTER_MODE_WP, 0};
  long err = sys_ioctl(h->uffd, SYS_UFFDIO_REGISTER, &reg);
  if (err < 0) {
    if (m->w == 'w' && !copied(m)) {
      h->record_error = (unsigned)-err;
      return -1;
    }
    if (m->w == 'w') h->store_size += m->end - m->start;
    if (h->nunregistered == h->max_ranges) return -1;
    h->unregistered[h->nunregistered][0] = m->start;
    h->unregistered[h->nunregistered++][1] = m->end;
    return 0;
  }
  if (m->w == 'w' && m->p == 'p' && !lent(h, m)) h->store_size += m->end - m->start;
  return 0;
}

/* Pass two, after registering (which may merge mappings) and making the store: the ranges kept. */
static int record_map(struct snap *h, const struct map *m) {
  if (h->nranges == h->max_ranges) return -1;
  struct range *r = &h->r[h->nranges++];
  r->start = m->start;
  r->end = m->end;
  r->file = m->file;
  r->prot = (m->r == 'r' ? 1 : 0) | (m->w == 'w' ? 2 : 0) | (m->x == 'x' ? 4 : 0);
  r->stack = fsrv_streq(m->name, "[stack]");
  r->shared = m->p == 's';
  r->lent = lent(h, m);
  r->kind = unregistered(h, m) && copied(m) ? COPIED
            : untracked(h, m)                ? UNTRACKED
            : own(h, m)                      ? OWN
            : m->w == 'w' && m->p == 'p'     ? RESTORED
                                             : WATCHED;
  if (r->kind == COPIED) r->lent = 0;
  return 0;
}

/* The ranges whose written pages are protected again after each execution: every registered one
 * but forksrv's own. */
static int protected_kind(int kind) { return kind == RESTORED || kind == WATCHED; }

static long protect(struct snap *h, unsigned long start, unsigned long end) {
  struct sys_uffdio_writeprotect wp = {start, end - start, SYS_UFFDIO_WRITEPROTECT_MODE_WP};
  return start == end ? 0 : sys_ioctl(h->uffd, SYS_UFFDIO_WRITEPROTECT, &wp);
}

/* A range is write-protected whole up to this size, pages it never touched included (each gets a
 * marker, which a read keeps and a write clears: a scan then finds only what was written); a larger
 * one only where it has contents, since a marker for every page of a reservation would give the
 * child page tables for all of it (a sanitizer's shadow: terabytes). Pages of a large range that
 * are first touched later show as written, and are dropped again. */
#define WHOLE_MAX (32ul << 20)

/* The pages of a range that have contents (present or swapped out) at the fork point: kept in the
 * present table, write-protected (the whole range, if small), and, for a range kept in the store,
 * copied there. A private file mapping's other pages are the file's, read when first touched, as in
 * a fork's child: dropped again once written (reading them now would cost a copy of the whole file,
 * and fault with SIGBUS where the mapping runs past the file's end). A guard page (MADV_GUARD_INSTALL)
 * looks swapped out but has no contents, and no write protection either: every scan would find it
 * written, and a put-back touching it die. The recording fails on one, and every input gets a fresh
 * fork (kernels before 6.14, which cannot tell one, are asked without). */
static long record_present(struct snap *h, const struct range *r) {
  static uint64_t guard = SYS_PAGE_IS_GUARD;
  int stored = r->kind == RESTORED && !r->lent, whole = r->end - r->start <= WHOLE_MAX;
  struct sys_pm_scan_arg a = {.size = sizeof a, .flags = whole ? 0 : SYS_PM_SCAN_WP_MATCHING, .start = r->start,
                              .end = r->end, .vec = (unsigned long)h->vec, .vec_len = SNAP_VEC_LEN,
                              .category_anyof_mask = SYS_PAGE_IS_PRESENT | SYS_PAGE_IS_SWAPPED,
                              .return_mask = SYS_PAGE_IS_PRESENT | SYS_PAGE_IS_SWAPPED | guard};
  for (;;) {
    long n = sys_ioctl(h->pagemap, SYS_PAGEMAP_SCAN, &a);
    if (n == -EINVAL && guard) {
      a.return_mask &= ~guard;
      guard = 0;
      continue;
    }
    if (n < 0) return n;
    for (long i = 0; i < n; i++)
      if (h->vec[i].categories & guard) return -EOPNOTSUPP;
    for (long i = 0; i < n; i++) {
      unsigned long start = h->vec[i].start, end = h->vec[i].end;
      struct snap_extent *last = h->npresent ? &h->present[h->npresent - 1] : 0;
      if (last && last->end == start) {
        last->end = end;
      } else {
        if (h->npresent == h->max_present) return -ENOMEM;
        h->present[h->npresent++] = (struct snap_extent){start, end};
      }
      if (stored) copy(h->data + r->store + (start - r->start), (void *)start, end - start), h->stored += end - start;
    }
    if (a.walk_end >= r->end || n < SNAP_VEC_LEN) break;
    a.start = a.walk_end;
  }
  return whole ? protect(h, r->start, r->end) : 0;
}

/* Memory of the snapshot's own (its tables, its store) where no scan runs: above every mapping (the
 * stack's included), each below the last, when there is room, so that it splits the tracked ranges
 * into no more scans; else wherever the kernel puts it. */
long snap_map_high(struct snap *h, unsigned long size, int flags) {
  unsigned long huge = 2ul << 20, ceiling = h->high ? h->high : 1ul << 47;
  unsigned long at = (ceiling - huge - size) & ~(huge - 1);
  if (size < 1ul << 46 && at > h->top + huge) {
    long m = sys6(__NR_mmap, (long)at, (long)size, 3 /* PROT_READ | PROT_WRITE */, flags | SYS_MAP_FIXED_NOREPLACE, -1, 0);
    if ((unsigned long)m == at) {
      h->high = at;
      return m;
    }
    if ((unsigned long)m <= -4096ul) sys_munmap((unsigned long)m, size); /* a kernel before 4.17 */
  }
  return sys_mmap(size, 3 /* PROT_READ | PROT_WRITE */, flags);
}

static int count_map(struct snap *h, const struct map *m) {
  if (m->end <= 1ul << 47 && m->end > h->top) h->top = m->end;
  h->nranges++;
  return 0;
}

/* How many mappings there are now (what the tables must hold), and where the highest ends. */
long snap_count_maps(struct snap *h) {
  h->nranges = 0;
  long r = each_map(h, count_map);
  long n = h->nranges;
  h->nranges = 0;
  return r < 0 ? r : n;
}

/* Why a pass over the mappings stopped: a registration's errno, or mappings made since they were
 * counted (the tables are full). */
static long maps_error(const struct snap *h) { return h->record_error ? -(long)h->record_error : -EAGAIN; }

/* Every mapping registered, the store made, the ranges kept, the store filled, and each range
 * write-protected as its pages are copied: from then on, a write to it is marked. */
unsigned snap_memory_record(struct snap *h, const struct fsrv *s) {
  h->server = server_lends(h, s);
  /* brk first: the heap's end is part of what the maps say. */
  h->brk = (unsigned long)sys_brk(0);
  long r = each_map(h, register_map);
  if (r < 0) return snap_failed(h, r == -1 ? FIFO_RECORD_MAPS : FIFO_RECORD_PROC, r == -1 ? maps_error(h) : r);
  h->store_size = (h->store_size + (16ul << 20)) & ~(SNAP_PAGE - 1);
  /* Private, so that its pages are plain anonymous ones (and huge where the kernel can): the copy of a
   * 1 GiB heap takes a fraction of what it takes into shared memory. */
  long data = snap_map_high(h, h->store_size, SYS_MAP_PRIVATE_ANON_NORESERVE);
  if ((unsigned long)data > -4096ul) return snap_failed(h, FIFO_RECORD_MEMORY, data);
  sys_madvise((unsigned long)data, h->store_size, SYS_MADV_HUGEPAGE);
  h->data = (unsigned char *)data;
  h->data_start = (unsigned long)data;
  h->data_end = h->data_start + h->store_size;
  r = each_map(h, record_map);
  if (r < 0) return snap_failed(h, r == -1 ? FIFO_RECORD_MAPS : FIFO_RECORD_PROC, r == -1 ? maps_error(h) : r);
  /* From here on every write to a page that had contents is marked. */
  unsigned long at = 0;
  for (unsigned i = 0; i < h->nranges; i++) {
    struct range *rg = &h->r[i];
    if (rg->stack) h->stack_lo = i ? h->r[i - 1].end : rg->start;
    if ((rg->kind == RESTORED && !rg->lent) || rg->kind == COPIED) {
      if (at + (rg->end - rg->start) > h->store_size) return snap_failed(h, FIFO_RECORD_MAPS, -EAGAIN);
      rg->store = at;
      at += rg->end - rg->start;
    }
    if (rg->kind == COPIED) {
      copy(h->data + rg->store, (void *)rg->start, rg->end - rg->start);
      h->stored += rg->end - rg->start;
      h->ncopied++;
    }
    /* A shared mapping's pages may be written without a fault the kernel could mark unless each is
     * protected, present or not: page tables for all of it, as a writer of it needs anyway. */
    if (rg->kind == WATCHED && rg->shared) h->nshared++, r = protect(h, rg->start, rg->end);
    else if (rg->kind == RESTORED || rg->kind == WATCHED) r = record_present(h, rg);
    else r = 0;
    if (r < 0) return snap_failed(h, r == -ENOMEM ? FIFO_RECORD_MEMORY : FIFO_RECORD_MAPS, r);
  }
  return 0;
}

/* A mapping the execution made, writable and shared with what outlives it: a file, System V or POSIX
 * shared memory, a memfd (not MAP_SHARED | MAP_ANONYMOUS memory, which only its own children could
 * share; nor a read-only one, as glibc maps its gconv cache). Unmapped at the put-back, it would keep
 * whatever the execution left in it, a robust mutex held, as no process's end would. */
static int new_shared(struct snap *h, const struct map *m) {
  if (m->p != 's' || m->w != 'w' || own(h, m) || fsrv_streq(m->name, "/dev/zero (deleted)")) return 0;
  for (unsigned i = 0; i < h->nranges; i++)
    if (m->start == h->r[i].start && m->end == h->r[i].end) return 0;
  return -1;
}

/* Whether an execution wrote shared memory, or mapped some and left it mapped. The writes stay, as
 * under fork, but the child must end as a forked one would, before its result goes out: a robust
 * mutex it left locked there is then marked as its owner's death marks it. Mappings are read only
 * when the size mapped changed. */
int snap_memory_shared_changed(struct snap *h) {
  for (unsigned i = 0; h->nshared && i < h->nranges; i++) {
    const struct range *r = &h->r[i];
    if (r->kind != WATCHED || !r->shared) continue;
    struct sys_page_region v[1];
    struct sys_pm_scan_arg a = {.size = sizeof a, .start = r->start, .end = r->end, .vec = (unsigned long)v, .vec_len = 1,
                                .category_mask = SYS_PAGE_IS_WRITTEN, .return_mask = SYS_PAGE_IS_WRITTEN};
    if (sys_ioctl(h->pagemap, SYS_PAGEMAP_SCAN, &a) != 0) return 1;
  }
  return h->at_end.vsize != h->vm_size && each_map(h, new_shared) != 0;
}

/* The range holding addr, from *at on (regions come in address order). */
static const struct range *range_at(const struct snap *h, unsigned *at, unsigned long addr) {
  while (*at < h->nranges && h->r[*at].end <= addr) (*at)++;
  return *at < h->nranges && h->r[*at].start <= addr ? &h->r[*at] : 0;
}

/* The pages read from the server, in one call for all of a scan's (the same addresses both sides). */
static long lend_flush(struct snap *h) {
  unsigned long want = 0;
  for (unsigned i = 0; i < h->nlend; i++) want += h->lend[i].len;
  long n = h->nlend ? sys_process_vm_readv(h->server, h->lend, h->nlend, h->lend, h->nlend) : 0;
  h->nlend = 0;
  return n == (long)want ? 0 : -1;
}

static long lend(struct snap *h, unsigned long start, unsigned long end) {
  h->lend[h->nlend].base = (void *)start;
  h->lend[h->nlend++].len = end - start;
  return h->nlend == SNAP_VEC_LEN ? lend_flush(h) : 0;
}

/* Write-protects, in as few calls as the runs allow: run() adds [start, end) to the pending run
 * (protecting it first if it does not follow on), run_flush() protects what is pending. */
static long run_flush(struct snap *h) {
  long r = protect(h, h->run_start, h->run_end);
  h->run_start = h->run_end = 0;
  return r;
}

static long run(struct snap *h, unsigned long start, unsigned long end) {
  if (start != h->run_end && run_flush(h) < 0) return -1;
  if (!h->run_start) h->run_start = start;
  h->run_end = end;
  return 0;
}

/* Whether the page at addr had contents at the fork point, and up to where that holds: from *at
 * on in the present table (regions come in address order). */
static int had_contents(const struct snap *h, unsigned long *at, unsigned long addr, unsigned long *until) {
  while (*at < h->npresent && h->present[*at].end <= addr) (*at)++;
  if (*at < h->npresent && h->present[*at].start <= addr) {
    *until = h->present[*at].end;
    return 1;
  }
  *until = *at < h->npresent ? h->present[*at].start : ~0ul;
  return 0;
}

/* The pages of [start, end) that are present, protected again (not the rest: no page tables for it). */
static long protect_present(struct snap *h, unsigned long start, unsigned long end) {
  struct sys_page_region v[1];
  struct sys_pm_scan_arg a = {.size = sizeof a, .flags = SYS_PM_SCAN_WP_MATCHING, .start = start, .end = end,
                              .vec = (unsigned long)v, .vec_len = 1, .category_anyof_mask = SYS_PAGE_IS_PRESENT,
                              .return_mask = SYS_PAGE_IS_PRESENT};
  for (;;) {
    long n = sys_ioctl(h->pagemap, SYS_PAGEMAP_SCAN, &a);
    if (n < 0) return n;
    if (a.walk_end >= end) return 0;
    a.start = a.walk_end;
  }
}

/* Whether every page of [start, end) has only been read since it was last protected (the zero page
 * or a file's page where it had no contents), not written: a scan that says what they are. */
static int only_read(struct snap *h, unsigned long start, unsigned long end) {
  struct sys_page_region v[8];
  /* Written, present, and neither the zero page nor a file's: any is a write. */
  struct sys_pm_scan_arg a = {.size = sizeof a, .start = start, .end = end, .vec = (unsigned long)v, .vec_len = 8,
                              .category_inverted = SYS_PAGE_IS_PFNZERO | SYS_PAGE_IS_FILE,
                              .category_mask = SYS_PAGE_IS_WRITTEN | SYS_PAGE_IS_PRESENT | SYS_PAGE_IS_PFNZERO |
                                               SYS_PAGE_IS_FILE,
                              .return_mask = SYS_PAGE_IS_WRITTEN};
  return sys_ioctl(h->pagemap, SYS_PAGEMAP_SCAN, &a) == 0;
}

/* The hot set: pages a put-back leaves writable (and copies back, or zeroes, every time after, since
 * a scan shows them as written whether or not they were), so that the next execution writes them
 * without a fault and the put-back protects them without a TLB flush. A page joins it when two
 * put-backs in a row find it written (a candidate the first time): pages an input writes and the
 * next does not (a fuzzer's inputs differ) are never copied for nothing. Every SNAP_HOT_PRUNE-th
 * put-back protects it all again (what was hot is a candidate), so that the set follows the target.
 * Pass 0 decides each page written, in address order; pass 1 looks the decision up. */
static int in(const unsigned long *tab, unsigned n, unsigned *at, unsigned long p) {
  while (*at < n && tab[*at] < p) (*at)++;
  return *at < n && tab[*at] == p;
}

static int hot_decide(struct snap *h, unsigned long p, int may) {
  if (p == h->hot_last) return h->hot_last_was;
  unsigned was = h->now, is = !h->now;
  int seen = in(h->hot[was], h->nhot[was], &h->hot_at, p) | in(h->cand[was], h->ncand[was], &h->cand_at, p);
  int hot = 0;
  if (may && seen && h->hot_ok && h->nhot[is] < SNAP_HOT_MAX) h->hot[is][h->nhot[is]++] = p, hot = 1;
  else if (may && h->ncand[is] < SNAP_HOT_MAX) h->cand[is][h->ncand[is]++] = p;
  h->hot_last = p;
  h->hot_last_was = hot;
  return hot;
}

/* The end of [a, stop) where pages stop being as hot as the one at a: decided page by page in pass 0
 * (not for a run longer than the set holds, such as a reservation's pages dropped whole: never hot),
 * looked up in pass 1. */
static unsigned long hot_run(struct snap *h, unsigned long a, unsigned long stop, int pass, int may, int *hot) {
  *hot = 0;
  if (h->hot_skip) return stop;
  if (pass) {
    const unsigned long *tab = h->hot[!h->now];
    unsigned n = h->nhot[!h->now];
    *hot = in(tab, n, &h->hot_seen, a);
    if (!*hot) return h->hot_seen < n && tab[h->hot_seen] < stop ? tab[h->hot_seen] : stop;
    for (a += SNAP_PAGE; a < stop && in(tab, n, &h->hot_seen, a);) a += SNAP_PAGE;
    return a;
  }
  if ((stop - a) / SNAP_PAGE > SNAP_HOT_MAX) return stop;
  *hot = hot_decide(h, a, may);
  for (a += SNAP_PAGE; a < stop && hot_decide(h, a, may) == *hot;) a += SNAP_PAGE;
  return a;
}

/* Written pages within one range, back to the fork point (pass 0) or protected again once every page
 * of the scan is back (pass 1). A page that had contents then gets them back, whatever happened to it
 * (written, or dropped by an madvise); one that had none is dropped again. Read-only and shared memory
 * cannot be put back: a write there discards the child. A page of a large range first touched since
 * shows as written however it was touched (it had no marker): a large read-only range's pages that
 * were only read are protected, not a reason to discard. */
static long restore_pages(struct snap *h, const struct range *r, unsigned long *pat, unsigned long a,
                          unsigned long end, int pass) {
  if (r->kind == WATCHED) {
    /* A page protected at the fork point (all of a small range, the pages with contents of a large
     * one) that shows as written was written or dropped. */
    unsigned long until;
    if (r->shared || r->end - r->start <= WHOLE_MAX || had_contents(h, pat, a, &until) || until < end ||
        (!pass && !only_read(h, a, end)))
      return -1;
    return pass ? protect_present(h, a, end) : 0;
  }
  while (a < end) {
    unsigned long until;
    int had = had_contents(h, pat, a, &until);
    unsigned long stop = until < end ? until : end, to;
    /* A file's page without contents then is the file's again only once dropped: never hot. */
    for (int hot; a < stop; a = to) {
      to = hot_run(h, a, stop, pass, had || !r->file, &hot);
      if (!pass && had && r->lent && lend(h, a, to) < 0) return -1;
      if (!pass && had && !r->lent) copy((void *)a, h->data + r->store + (a - r->start), to - a);
      if (!pass && !had && hot) zero((void *)a, to - a);
      if (!pass && !had && !hot) sys_madvise(a, to - a, SYS_MADV_DONTNEED);
      /* Protected again, but for the hot set: what had contents, and the rest of a small range
       * (markers again); the rest of a large one stays as it was, without page tables. */
      if (pass && !hot && (had || r->end - r->start <= WHOLE_MAX) && run(h, a, to) < 0) return -1;
    }
  }
  return 0;
}

/* One region a scan found, split among the ranges it spans; forksrv's own pages left be. */
static long restore_region(struct snap *h, unsigned *at, unsigned long *pat, const struct sys_page_region *v, int pass) {
  for (unsigned long a = v->start; a < v->end;) {
    const struct range *r = range_at(h, at, a);
    unsigned long stop = r ? (r->end < v->end ? r->end : v->end)
                           : (*at < h->nranges && h->r[*at].start < v->end ? h->r[*at].start : v->end);
    if (!r && a >= h->stack_lo) {
      /* Stack grown below where it was: zeros again (the mapping stays as large). */
      if (!pass) sys_madvise(a, stop - a, SYS_MADV_DONTNEED);
    } else if (!r) {
      return -1;
    } else if (r->kind != OWN && restore_pages(h, r, pat, a, stop, pass) < 0) {
      return -1;
    }
    a = stop;
  }
  return 0;
}

/* Pages an madvise dropped, put back here rather than left to the scan: a private file mapping's go
 * back to the file's contents and keep their write-protect marker, so no scan would see them, and a
 * page table emptied whole may go, with what a scan would see. A read-only private mapping's pages
 * that had contents cannot be put back (they may have differed from the file: relocations): the
 * child ends. */
static long restore_freed(struct snap *h, unsigned long a, unsigned long b) {
  a &= ~(SNAP_PAGE - 1);
  b = (b + SNAP_PAGE - 1) & ~(SNAP_PAGE - 1);
  long rc = 0;
  h->hot_skip = 1;
  for (int pass = 0; pass < 2 && rc == 0; pass++) {
    unsigned long pat = 0, until;
    for (unsigned i = 0; i < h->nranges && rc == 0; i++) {
      const struct range *r = &h->r[i];
      if (r->end <= a || r->start >= b || (r->kind != RESTORED && (r->kind != WATCHED || r->shared))) continue;
      unsigned long x = r->start > a ? r->start : a, y = r->end < b ? r->end : b;
      if (r->kind == WATCHED) {
        if (!pass && (had_contents(h, &pat, x, &until) || until < y)) rc = -1;
        continue;
      }
      rc = restore_pages(h, r, &pat, x, y, pass);
    }
    if (rc == 0) rc = pass ? run_flush(h) : lend_flush(h);
  }
  h->hot_skip = 0;
  return rc;
}

/* Part [start, end) of a tracked anonymous range, mapped anew: registered, and its pages that had
 * contents given them back and protected. */
static long fill(struct snap *h, const struct range *r, unsigned long start, unsigned long end) {
  unsigned long pat = 0, a = start, until;
  struct sys_uffdio_register reg = {start, end - start, SYS_UFFDIO_REGISTER_MODE_WP, 0};
  if (sys_ioctl(h->uffd, SYS_UFFDIO_REGISTER, &reg) < 0) return -1;
  for (; a < end; a = until < end ? until : end) {
    if (!had_contents(h, &pat, a, &until)) continue;
    unsigned long stop = until < end ? until : end;
    if (r->kind == WATCHED) return -1; /* nothing to give them back from */
    if (r->lent) {
      struct sys_iovec v = {(void *)a, stop - a};
      if (sys_process_vm_readv(h->server, &v, 1, &v, 1) != (long)(stop - a)) return -1;
    } else {
      copy((void *)a, h->data + r->store + (a - r->start), stop - a);
    }
    if (r->end - r->start > WHOLE_MAX && protect(h, a, stop) < 0) return -1;
  }
  return r->end - r->start <= WHOLE_MAX ? protect(h, start, end) : 0;
}

/* Whether part of the range can be mapped anew as the fork point had it: an anonymous private range
 * (not the stack, which would not grow through it), whose contents the store or the server keeps. A
 * file's cannot be (its pages would be read again from a file that may have changed since), nor a
 * shared one. */
static int remakable(const struct range *r) {
  return !r->file && !r->shared && !r->stack && (r->kind == RESTORED || r->kind == WATCHED);
}

/* Part [start, end) of a tracked anonymous range, made anew as the fork point had it, where the
 * execution mapped something else over it (ASan's allocator maps its reserved space piece by piece,
 * with MAP_FIXED). */
static long remake(struct snap *h, const struct range *r, unsigned long start, unsigned long end) {
  if (!remakable(r)) return -1;
  long m = sys6(__NR_mmap, (long)start, (long)(end - start), r->prot, SYS_MAP_PRIVATE_ANON_NORESERVE | 0x10 /* MAP_FIXED */,
                -1, 0);
  return (unsigned long)m == start ? fill(h, r, start, end) : -1;
}

/* Part [start, end) of a range with the fork point's protection again, and what the execution
 * unmapped of it (a runtime's arena, freed at the exit: Python's) mapped anew: a part wholly mapped
 * only gets its protection back, a part wholly unmapped is mapped anew (MAP_FIXED_NOREPLACE fails
 * where anything is mapped), and one with both is halved. -1 where that cannot be: the child ends. */
static long remap_gone(struct snap *h, const struct range *r, unsigned long start, unsigned long end) {
  long rc = sys_mprotect(start, end - start, r->prot);
  if (rc == 0) return 0;
  if (rc != -ENOMEM || !remakable(r)) return -1;
  long m = sys6(__NR_mmap, (long)start, (long)(end - start), r->prot,
                SYS_MAP_PRIVATE_ANON_NORESERVE | SYS_MAP_FIXED_NOREPLACE, -1, 0);
  if ((unsigned long)m == start) return fill(h, r, start, end);
  if (m != -EEXIST || end - start <= SNAP_PAGE) return -1;
  unsigned long mid = start + ((end - start) / 2 & ~(SNAP_PAGE - 1));
  return remap_gone(h, r, start, mid) < 0 ? -1 : remap_gone(h, r, mid, end);
}

/* Whether the mapping at [start, end) is one the snapshot registered (a scan of its first page that
 * must not meet one that is not). */
static int registered(struct snap *h, unsigned long start) {
  struct sys_pm_scan_arg a = {.size = sizeof a, .flags = SYS_PM_SCAN_CHECK_WPASYNC, .start = start,
                              .end = start + SNAP_PAGE, .vec = (unsigned long)h->vec, .vec_len = 1,
                              .category_mask = SYS_PAGE_IS_WRITTEN, .return_mask = SYS_PAGE_IS_WRITTEN};
  return sys_ioctl(h->pagemap, SYS_PAGEMAP_SCAN, &a) != -EPERM;
}

/* After a scan found a mapping made since the snapshot: one the execution made and left (a large
 * malloc never freed) is unmapped; one made over a tracked anonymous range or part of it (even over
 * the whole range, exactly: it is not registered) is made anew as the range was; one over anything
 * else (a file's mapping) cannot be undone. */
static int undo_new(struct snap *h, const struct map *m) {
  unsigned long a = m->start;
  for (unsigned i = 0; i < h->nranges && a < m->end; i++) {
    const struct range *r = &h->r[i];
    if (r->end <= a) continue;
    if (m->start == r->start && m->end == r->end && (r->kind == UNTRACKED || r->kind == COPIED || registered(h, m->start)))
      return 0;
    if (r->stack && m->end == r->end && m->start >= h->stack_lo) return 0; /* grown down */
    if (r->start >= m->end) break;
    if (r->start > a && !special(m) && sys_munmap(a, r->start - a) < 0) return -1; /* over a hole */
    unsigned long stop = r->end < m->end ? r->end : m->end;
    if (remake(h, r, r->start > a ? r->start : a, stop) < 0) return -1;
    a = stop;
  }
  if (a < m->end && !special(m) && sys_munmap(a, m->end - a) < 0) return -1;
  return 0;
}

static unsigned long page_up(unsigned long a) { return (a + SNAP_PAGE - 1) & ~(SNAP_PAGE - 1); }

/* Whether a put-back scans the range. A program writes a read-only mapping only after changing its
 * protection (or through /proc/self/mem), so a file's read-only mapping (a library's code and
 * constants) is scanned only when a protection may have changed: walking them cost a small target's
 * put-back a tenth more (docs/design.md). An anonymous one (a reservation: a sanitizer's allocator
 * maps over it, and changes its protections with system calls of its own) has few page tables to
 * walk, and is scanned every time. */
static int scanned(const struct range *r, int check) {
  if (r->kind == UNTRACKED || r->kind == COPIED) return 0;
  return r->kind != WATCHED || check || (r->prot & 2) || !r->file;
}

/* Every written page of every tracked mapping, scanned in runs of ranges: a mapping made since the
 * snapshot is not registered, and makes the scan fail (PM_SCAN_CHECK_WPASYNC); then mappings made
 * since are unmapped, and the scan runs again. */
long snap_memory_restore(struct snap *h, int retried) {
  /* Pages an MADV_FREE let go stay until the kernel reclaims them, maybe in the next execution:
   * dropped now, and like every page an madvise dropped, given their contents back. Some of the
   * snapshot's own memory let go (its store, its tables, itself) cannot be trusted again. */
  for (unsigned i = 0; i < h->nfreed; i++) {
    unsigned long a = h->freed[i][0], b = h->freed[i][1];
    if ((a < h->data_end && b > h->data_start) || (a < h->tables_end && b > h->tables_start) ||
        (a < h->self_end && b > h->self_start))
      return -1;
    sys_madvise(a, b - a, SYS_MADV_DONTNEED);
    if (restore_freed(h, a, b) < 0) return -1;
  }
  h->nfreed = 0;
  h->hot_ok = !retried && ++h->puts % SNAP_HOT_PRUNE != 0;
  h->hot_at = h->cand_at = 0, h->hot_last = 0;
  h->nhot[!h->now] = h->ncand[!h->now] = 0;
  unsigned long brk_end = (unsigned long)sys_brk(0);
  if (brk_end != h->brk && (unsigned long)sys_brk(h->brk) != h->brk) return -1;
  /* Protections changed since are put back, so that the copies below can be written, and a mapping
   * removed, even in part, is made anew where it can be (mprotect fails on a hole). Only when something
   * may have changed: an mprotect through libforksrv.so, fewer or more pages mapped (not counting what
   * brk grew, undone above, behind which an unmap of as many pages would hide), a mapping made since. */
  unsigned long size = h->at_end.vsize - (page_up(brk_end) - page_up(h->brk));
  int check = retried || !fsrv_sees_calls || (h->touched & FSRV_TOUCHED_MAPS) || size != h->vm_size, remade = 0;
  for (unsigned i = 0, j; check && i < h->nranges; i = j + 1) {
    j = i;
    if (!protected_kind(h->r[i].kind)) continue;
    while (j + 1 < h->nranges && h->r[j + 1].start == h->r[j].end && h->r[j + 1].prot == h->r[i].prot &&
           protected_kind(h->r[j + 1].kind))
      j++;
    if (sys_mprotect(h->r[i].start, h->r[j].end - h->r[i].start, h->r[i].prot) == 0) continue;
    for (unsigned k = i; k <= j; k++)
      if (remap_gone(h, &h->r[k], h->r[k].start, h->r[k].end) < 0) return -1;
    remade = 1;
  }
  if (check && !retried) {
    h->touched &= ~(unsigned)FSRV_TOUCHED_MAPS;
    h->vm_size = size; /* a stack grown stays so: this is the size to compare with from now on */
  }
  /* Mappings undone or made anew since the size was read: it is not the size after this put-back, and
   * the next execution checks the mappings whatever its size. */
  if (retried || remade) h->vm_size = 0;
  unsigned at = 0;
  unsigned long pat = 0;
  for (unsigned i = 0; i < h->nranges;) {
    if (!scanned(&h->r[i], check)) {
      i++;
      continue;
    }
    unsigned j = i;
    while (j + 1 < h->nranges && scanned(&h->r[j + 1], check)) j++;
    /* The holes up to the mappings either side are scanned too: a mapping made there since fails the
     * scan as well. */
    unsigned long start = i ? h->r[i - 1].end : h->r[i].start, end = j + 1 < h->nranges ? h->r[j + 1].start : h->r[j].end;
    if (end >= 1ul << 47) end = h->r[j].end; /* [vsyscall], beyond where a mapping can be made */
    /* Asking for the written pages alone takes the kernel's fast path, which looks at nothing but
     * each page's protection: asking what the pages are cost the walk four times as much. */
    struct sys_pm_scan_arg a = {.size = sizeof a, .flags = SYS_PM_SCAN_CHECK_WPASYNC, .start = start, .end = end,
                                .vec = (unsigned long)h->vec, .vec_len = SNAP_VEC_LEN, .category_mask = SYS_PAGE_IS_WRITTEN,
                                .return_mask = SYS_PAGE_IS_WRITTEN};
    for (;;) {
      long n = sys_ioctl(h->pagemap, SYS_PAGEMAP_SCAN, &a);
      if (n == -EPERM && !retried) return each_map(h, undo_new) < 0 ? -1 : snap_memory_restore(h, 1);
      if (n < 0) return n;
      unsigned from = at;
      unsigned long pfrom = pat;
      unsigned seen = h->nhot[!h->now];
      for (long k = 0; k < n; k++)
        if (restore_region(h, &at, &pat, &h->vec[k], 0) < 0) return -1;
      if (lend_flush(h) < 0) return -1;
      at = from, pat = pfrom, h->hot_seen = seen;
      for (long k = 0; k < n; k++)
        if (restore_region(h, &at, &pat, &h->vec[k], 1) < 0) return -1;
      if (run_flush(h) < 0) return -1;
      if (a.walk_end >= a.end || n < SNAP_VEC_LEN) break;
      a.start = a.walk_end;
    }
    i = j + 1;
  }
  h->now = !h->now; /* this put-back's hot set is the next one's to compare with */
  /* What no scan sees, written back whole, where it is still mapped as it was. */
  for (unsigned i = 0; h->ncopied && i < h->nranges; i++) {
    const struct range *r = &h->r[i];
    if (r->kind != COPIED) continue;
    if (check && sys_mprotect(r->start, r->end - r->start, r->prot) < 0) return -1;
    copy((void *)r->start, h->data + r->store, r->end - r->start);
  }
  return 0;
}

