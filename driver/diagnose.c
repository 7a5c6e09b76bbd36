/* The target diagnosis, from the file: its ELF headers (class, type, whether it has an interpreter,
 * i.e. is dynamically linked), its set-id bits, and the deferred-start signature. Used by the server
 * back end to explain a target that never said hello, and by `forksrv check`. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fifo/protocol.h"
#include "diagnose.h"

struct elf_kind {
  int elf64;   /* a 64-bit ELF file */
  int dynamic; /* with a PT_INTERP: the dynamic loader starts it, and reads LD_PRELOAD */
  int pie;     /* ET_DYN */
};

/* 0, or -1 when fd is not a 64-bit ELF file. */
static int elf_kind(int fd, struct elf_kind *k) {
  Elf64_Ehdr eh;
  memset(k, 0, sizeof *k);
  if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
      eh.e_ident[EI_CLASS] != ELFCLASS64)
    return -1;
  k->elf64 = 1;
  k->pie = eh.e_type == ET_DYN;
  for (unsigned i = 0; i < eh.e_phnum && !k->dynamic; i++) {
    Elf64_Phdr ph;
    if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize)) != (ssize_t)sizeof ph) break;
    k->dynamic = ph.p_type == PT_INTERP;
  }
  return 0;
}

const char *drv_no_preload_reason(const char *exe) {
  struct stat st;
  if (stat(exe, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
    return "no fork server in it: setuid and setgid targets ignore LD_PRELOAD (link it with libforksrv.a)";
  int fd = open(exe, O_RDONLY | O_CLOEXEC);
  struct elf_kind k;
  int elf = fd >= 0 && elf_kind(fd, &k) == 0;
  if (fd >= 0) close(fd);
  if (elf && !k.dynamic)
    return "no fork server in it: it is statically linked, so LD_PRELOAD cannot reach it (link it with libforksrv.a)";
  return NULL;
}

void drv_describe_target(const char *exe, char *out, size_t cap) {
  int fd = open(exe, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    snprintf(out, cap, "cannot open: %s", strerror(errno));
    if (fd >= 0) close(fd);
    return;
  }
  const char *mode = st.st_mode & S_ISUID ? ", setuid" : st.st_mode & S_ISGID ? ", setgid" : ", not setuid";
  struct elf_kind k;
  char head[SELFMAG] = {0};
  if (elf_kind(fd, &k) < 0) {
    int elf = pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head && !memcmp(head, ELFMAG, SELFMAG);
    int script = head[0] == '#' && head[1] == '!';
    snprintf(out, cap, "%s%s", script ? "a script" : elf ? "static ELF" : "not ELF", mode);
  } else {
    snprintf(out, cap, "%s ELF%s%s", k.dynamic ? "dynamic" : "static", k.pie ? ", PIE" : "", mode);
  }
  close(fd);
}

int drv_calls_forksrv_start(const char *exe) {
  int fd = open(exe, O_RDONLY | O_CLOEXEC);
  struct stat st;
  int found = 0;
  if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      found = memmem(map, (size_t)st.st_size, FIFO_DEFERRED_SIGNATURE, sizeof FIFO_DEFERRED_SIGNATURE - 1) != NULL;
      munmap(map, (size_t)st.st_size);
    }
  }
  if (fd >= 0) close(fd);
  return found;
}
