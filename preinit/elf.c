/* Finding libc's symbols without libc (no dlsym): the executable's DT_DEBUG entry leads to the dynamic
 * linker's list of loaded objects; each object after ours (RTLD_NEXT's order) is searched through its
 * GNU hash table, default versions only. Used for the __libc_start_main the server interposes and the
 * libc calls the input start point wraps; the executable's dynamic section also says whether it calls
 * ours and where its initialisers are, and the vDSO gives a clock that needs no system call. */
#include <linux/elf.h>

#include "server.h"

#define DT_GNU_HASH_TAG 0x6ffffef5
#define DT_DEPAUDIT_TAG 0x6ffffefb
#define DT_AUDIT_TAG 0x6ffffefc
#define DT_INIT_ARRAY_TAG 25 /* <elf.h> has these, <linux/elf.h> does not */
#define DT_INIT_ARRAYSZ_TAG 27
#define STT_GNU_IFUNC_TYPE 10
#define VERSYM_HIDDEN 0x8000

/* The public head of glibc's struct link_map and struct r_debug (<link.h>), which are ABI. */
struct fsrv_link_map {
  uintptr_t l_addr;
  const char *l_name;
  Elf64_Dyn *l_ld;
  struct fsrv_link_map *l_next, *l_prev;
};
struct fsrv_r_debug {
  int r_version;
  struct fsrv_link_map *r_map;
};

extern Elf64_Dyn _DYNAMIC[] __attribute__((weak, visibility("hidden")));

static struct fsrv_link_map *find_objects(void) {
  struct fsrv_auxv a;
  if (fsrv_auxv_read(&a) < 0 || !a.phdr) return 0;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)a.phdr;
  uintptr_t bias = 0;
  const Elf64_Phdr *dynamic = 0;
  int loader = 0;
  for (unsigned long i = 0; i < a.phnum; i++) {
    if (ph[i].p_type == PT_PHDR) bias = a.phdr - ph[i].p_vaddr;
    if (ph[i].p_type == PT_DYNAMIC) dynamic = &ph[i];
    if (ph[i].p_type == PT_INTERP) loader = 1;
  }
  /* A static-pie program has a dynamic section but no loader, and often no PT_PHDR to place it by. */
  if (!dynamic || !loader) return 0;
  for (const Elf64_Dyn *d = (const Elf64_Dyn *)(bias + dynamic->p_vaddr); d->d_tag != DT_NULL; d++)
    if (d->d_tag == DT_DEBUG && d->d_un.d_ptr) return ((struct fsrv_r_debug *)d->d_un.d_ptr)->r_map;
  return 0;
}

/* The head of the list (the executable's own entry) stays where it is once the loader has made it:
 * found once, not by reading /proc/self/auxv at every lookup. */
static struct fsrv_link_map *loaded_objects(void) {
  static struct fsrv_link_map *head;
  if (!head) head = find_objects();
  return head;
}

static uint32_t gnu_hash(const char *s) {
  uint32_t h = 5381;
  for (; *s; s++) h = h * 33 + (unsigned char)*s;
  return h;
}

/* An address in an object's dynamic section: glibc has already relocated most of them in place, the
 * kernel's vDSO has not. */
static uintptr_t dyn_ptr(const struct fsrv_link_map *m, Elf64_Addr p) { return p < m->l_addr ? m->l_addr + p : p; }

/* What an object's dynamic section points to, found in one walk. */
struct dyn_tables {
  const char *strtab;
  const Elf64_Sym *symtab;
  const uint32_t *hash;
  const uint16_t *versym;
  const Elf64_Rela *rela, *jmprel;
  uint64_t rela_size, jmprel_size, pltrel;
  Elf64_Addr init, init_array; /* as linked: glibc leaves these unrelocated */
  uint64_t init_array_size;
  int audit; /* it names auditors (DT_AUDIT, DT_DEPAUDIT) */
};

static struct dyn_tables tables_of(const struct fsrv_link_map *m) {
  struct dyn_tables t = {.pltrel = DT_RELA};
  for (const Elf64_Dyn *d = m->l_ld; d && d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_STRTAB) t.strtab = (const char *)dyn_ptr(m, d->d_un.d_ptr);
    if (d->d_tag == DT_SYMTAB) t.symtab = (const Elf64_Sym *)dyn_ptr(m, d->d_un.d_ptr);
    if (d->d_tag == DT_GNU_HASH_TAG) t.hash = (const uint32_t *)dyn_ptr(m, d->d_un.d_ptr);
    if (d->d_tag == DT_VERSYM) t.versym = (const uint16_t *)dyn_ptr(m, d->d_un.d_ptr);
    if (d->d_tag == DT_RELA) t.rela = (const Elf64_Rela *)dyn_ptr(m, d->d_un.d_ptr);
    if (d->d_tag == DT_RELASZ) t.rela_size = d->d_un.d_val;
    if (d->d_tag == DT_JMPREL) t.jmprel = (const Elf64_Rela *)dyn_ptr(m, d->d_un.d_ptr);
    if (d->d_tag == DT_PLTRELSZ) t.jmprel_size = d->d_un.d_val;
    if (d->d_tag == DT_PLTREL) t.pltrel = d->d_un.d_val;
    if (d->d_tag == DT_INIT) t.init = d->d_un.d_ptr;
    if (d->d_tag == DT_INIT_ARRAY_TAG) t.init_array = d->d_un.d_ptr;
    if (d->d_tag == DT_INIT_ARRAYSZ_TAG) t.init_array_size = d->d_un.d_val;
    if (d->d_tag == DT_AUDIT_TAG || d->d_tag == DT_DEPAUDIT_TAG) t.audit = 1;
  }
  return t;
}

/* object: 0 a function, 1 a variable, 2 any symbol the loader would bind to (found, not resolved). */
#define ANY 2
static void *lookup(const struct fsrv_link_map *m, const char *name, int object) {
  struct dyn_tables t = tables_of(m);
  const char *strtab = t.strtab;
  const Elf64_Sym *symtab = t.symtab;
  const uint32_t *hash = t.hash;
  const uint16_t *versym = t.versym;
  if (!strtab || !symtab || !hash) return 0;
  uint32_t nbuckets = hash[0], symoffset = hash[1], bloom_size = hash[2];
  const uint32_t *buckets = hash + 4 + bloom_size * 2; /* the bloom filter's words are 64-bit */
  const uint32_t *chain = buckets + nbuckets;
  uint32_t h = gnu_hash(name);
  if (!nbuckets) return 0;
  for (uint32_t i = buckets[h % nbuckets]; i >= symoffset && i; i++) {
    uint32_t ch = chain[i - symoffset];
    const Elf64_Sym *s = &symtab[i];
    int type = s->st_info & 0xf;
    int wanted = object == ANY ? type <= STT_FUNC || type == STT_GNU_IFUNC_TYPE
                 : object       ? type == STT_OBJECT
                                : type == STT_FUNC || type == STT_GNU_IFUNC_TYPE;
    if ((ch | 1) == (h | 1) && s->st_shndx != 0 && wanted &&
        !(versym && (versym[i] & VERSYM_HIDDEN)) && fsrv_streq(strtab + s->st_name, name)) {
      uintptr_t at = m->l_addr + s->st_value;
      if (object == ANY) return (void *)s;
      return type == STT_GNU_IFUNC_TYPE ? ((void *(*)(void))at)() : (void *)at;
    }
    if (ch & 1) break;
  }
  return 0;
}

static void *next(const char *name, int object) {
  struct fsrv_link_map *first = loaded_objects(), *m = first;
  /* Objects after ours, as RTLD_NEXT searches; all but ours if ours is not in the list. */
  while (m && m->l_ld != _DYNAMIC) m = m->l_next;
  for (m = m ? m->l_next : first; m; m = m->l_next) {
    if (m->l_ld == _DYNAMIC) continue;
    void *found = lookup(m, name, object);
    if (found) return found;
  }
  return 0;
}

void *fsrv_next_symbol(const char *name) { return next(name, 0); }
void *fsrv_next_object(const char *name) { return next(name, 1); }

/* Whether the program's calls by that name reach ours: the first object in the search order that
 * defines it is ours, or a sanitizer's interceptor (__interceptor_NAME, ___interceptor_NAME beside
 * it), which calls the next definition. An object before ours without a GNU hash table cannot be
 * searched here, and so may define it. */
int fsrv_binds_here(const char *name) {
  char interceptor[64] = "___interceptor_";
  unsigned long n = 15;
  for (const char *c = name; *c; c++)
    if (n + 1 < sizeof interceptor) interceptor[n++] = *c;
  interceptor[n] = '\0';
  for (struct fsrv_link_map *m = loaded_objects(); m; m = m->l_next) {
    if (m->l_ld == _DYNAMIC) return 1;
    if (!tables_of(m).hash) return 0;
    if (lookup(m, name, ANY)) return lookup(m, interceptor, ANY) || lookup(m, interceptor + 1, ANY);
  }
  return 0;
}

/* The variable the program's own references reach: the first definition in the search order, the
 * executable's copy where it has one (a copy relocation), as the loader binds every object's. */
void *fsrv_global_object(const char *name) {
  for (struct fsrv_link_map *m = loaded_objects(); m; m = m->l_next) {
    void *found = lookup(m, name, 1);
    if (found) return found;
  }
  return 0;
}

void *fsrv_program_object(const char *name) {
  const struct fsrv_link_map *exe = loaded_objects(); /* the first object is the executable */
  return exe ? lookup(exe, name, 1) : 0;
}

/* Counts the executable's relocations in rela[0..size) that name `name`; -1 if one is not bound to fn. */
static long bound_slots(const struct fsrv_link_map *exe, const struct dyn_tables *t, const Elf64_Rela *rela,
                        uint64_t size, const char *name, const void *fn) {
  long n = 0;
  for (uint64_t i = 0; rela && i < size / sizeof *rela; i++) {
    uint32_t sym = (uint32_t)(rela[i].r_info >> 32);
    if (!sym || !fsrv_streq(t->strtab + t->symtab[sym].st_name, name)) continue;
    if (*(void *const *)(exe->l_addr + rela[i].r_offset) != fn) return -1;
    n++;
  }
  return n;
}

int fsrv_program_calls(const char *name, const void *fn) {
  const struct fsrv_link_map *exe = loaded_objects(); /* the first object is the executable */
  if (!exe) return 0;
  struct dyn_tables t = tables_of(exe);
  if (!t.strtab || !t.symtab || t.pltrel != DT_RELA) return 0;
  long got = bound_slots(exe, &t, t.rela, t.rela_size, name, fn);
  long plt = bound_slots(exe, &t, t.jmprel, t.jmprel_size, name, fn);
  return got >= 0 && plt >= 0 && got + plt > 0;
}

long fsrv_program_inits(struct fsrv_inits *out) {
  const struct fsrv_link_map *exe = loaded_objects();
  if (!exe) return -ENOENT;
  struct dyn_tables t = tables_of(exe);
  out->init = t.init ? (fsrv_init_fn)(exe->l_addr + t.init) : 0;
  out->array = t.init_array ? (const fsrv_init_fn *)(exe->l_addr + t.init_array) : 0;
  out->n = out->array ? t.init_array_size / sizeof *out->array : 0;
  out->audited = t.audit;
  return 0;
}

void *fsrv_vdso_symbol(unsigned long base, const char *name) {
  if (!base) return 0;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
  struct fsrv_link_map m = {0, 0, 0, 0, 0};
  int have_load = 0;
  for (unsigned i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && !have_load) m.l_addr = base - ph[i].p_vaddr, have_load = 1;
    if (ph[i].p_type == PT_DYNAMIC) m.l_ld = (Elf64_Dyn *)ph[i].p_vaddr;
  }
  if (!have_load || !m.l_ld) return 0;
  m.l_ld = (Elf64_Dyn *)(m.l_addr + (uintptr_t)m.l_ld);
  return lookup(&m, name, 0);
}
