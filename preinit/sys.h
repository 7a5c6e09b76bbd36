/* Raw Linux system calls for the injected server. The server runs inside an arbitrary target, maybe
 * before libc is ready, so it uses no libc at all: each wrapper returns the kernel's value, -errno on
 * failure, and never touches errno. Types come from the kernel's own headers. */
#ifndef FORKSRV_PREINIT_SYS_H
#define FORKSRV_PREINIT_SYS_H

#include <asm/unistd.h>
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/poll.h>
#include <linux/resource.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <linux/stat.h>
#include <linux/time.h>
#include <linux/wait.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}
#else
#error "forksrv's server supports x86_64 and aarch64"
#endif

#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#define SYS_AT_FDCWD (-100)
#define SYS_PR_SET_PDEATHSIG 1
#define SYS_PR_GET_PDEATHSIG 2
#define SYS_PR_SET_CHILD_SUBREAPER 36
#define SYS_PR_GET_CHILD_SUBREAPER 37
#define SYS_PR_GET_TID_ADDRESS 40
#define SYS_PR_GET_SECCOMP 21
#define SYS_PR_GET_NO_NEW_PRIVS 39
#define SYS_SIG_BLOCK 0
#define SYS_SIG_SETMASK 2
#define SYS_SIGKILL 9
#define SYS_SIGPIPE 13
#define SYS_SIGCHLD 17
#define SYS_SIGSTOP 19
#define SYS_EFD_CLOEXEC 02000000
#define SYS_EFD_NONBLOCK 04000
#define SYS_AT_PHDR 3
#define SYS_AT_PHNUM 5
#define SYS_AT_SYSINFO_EHDR 33
#define SYS_AT_SECURE 23
#define SYS_SIG_IGN 1ul
#define SYS_SA_NOCLDWAIT 2ul
#define SYS_CLONE_PIDFD 0x1000ul


static inline long sys_read(int fd, void *buf, size_t n) { return sys3(__NR_read, fd, buf, n); }
static inline long sys_write(int fd, const void *buf, size_t n) { return sys3(__NR_write, fd, buf, n); }
static inline long sys_open(const char *path, int flags) { return sys4(__NR_openat, SYS_AT_FDCWD, path, flags, 0); }
static inline long sys_close(int fd) { return sys1(__NR_close, fd); }
static inline long sys_fcntl(int fd, int cmd, long arg) { return sys3(__NR_fcntl, fd, cmd, arg); }
static inline long sys_getpid(void) { return sys0(__NR_getpid); }
static inline long sys_getppid(void) { return sys0(__NR_getppid); }
static inline long sys_gettid(void) { return sys0(__NR_gettid); }
static inline long sys_geteuid(void) { return sys0(__NR_geteuid); }
static inline long sys_kill(int pid, int sig) { return sys2(__NR_kill, pid, sig); }
static inline long sys_setpgid(int pid, int pgid) { return sys2(__NR_setpgid, pid, pgid); }
static inline long sys_prctl(int op, long a, long b) { return sys5(__NR_prctl, op, a, b, 0, 0); }
static inline long sys_wait4(int pid, int *status, int options, struct rusage *ru) {
  return sys4(__NR_wait4, pid, status, options, ru);
}
static inline long sys_ppoll(struct pollfd *fds, unsigned n, struct timespec *timeout) {
  return sys5(__NR_ppoll, fds, n, timeout, 0, 8);
}
static inline long sys_clock_gettime(int clock, struct timespec *ts) { return sys2(__NR_clock_gettime, clock, ts); }
static inline long sys_nanosleep(const struct timespec *ts) { return sys2(__NR_nanosleep, ts, 0); }
/* The kernel's struct sigaction for rt_sigaction (x86_64 and aarch64 both have sa_restorer). */
struct sys_sigaction {
  unsigned long handler;
  unsigned long flags;
  unsigned long restorer;
  uint64_t mask;
};
static inline long sys_sigaction(int sig, const struct sys_sigaction *act, struct sys_sigaction *old) {
  return sys4(__NR_rt_sigaction, sig, act, old, 8);
}
static inline long sys_sigprocmask(int how, const uint64_t *set, uint64_t *old) {
  return sys4(__NR_rt_sigprocmask, how, set, old, 8);
}
static inline long sys_mmap_shared_page(void) {
  return sys6(__NR_mmap, 0, 4096, 3 /* PROT_READ | PROT_WRITE */, 0x21 /* MAP_SHARED | MAP_ANONYMOUS */, -1, 0);
}
static inline long sys_eventfd(unsigned flags) { return sys2(__NR_eventfd2, 0, flags); }
static inline long sys_signalfd(const uint64_t *mask, unsigned flags) { return sys4(__NR_signalfd4, -1, mask, 8, flags); }
static inline long sys_close_range(int first, int last) { return sys3(__NR_close_range, first, last, 0); }
static inline long sys_ioctl(int fd, unsigned long req, void *arg) { return sys3(__NR_ioctl, fd, (long)req, arg); }
static inline long sys_lseek(int fd, long off, int whence) { return sys3(__NR_lseek, fd, off, whence); }
static inline long sys_ftruncate(int fd, long len) { return sys2(__NR_ftruncate, fd, len); }
static inline long sys_shmat(int id, int flags) { return sys3(__NR_shmat, id, 0, flags); }
static inline long sys_get_robust_list(void **head, size_t *len) { return sys3(__NR_get_robust_list, 0, head, len); }
static inline long sys_set_robust_list(void *head, size_t len) { return sys2(__NR_set_robust_list, head, len); }
static inline __attribute__((noreturn)) void sys_exit_group(int code) {
  for (;;) sys1(__NR_exit_group, code);
}

/* Snapshot reset (snapshot.c): memory, descriptors and the rest of a process put back in place. */
struct sys_iovec { /* the kernel's struct iovec */
  void *base;
  unsigned long len;
};
static inline long sys_process_vm_readv(int pid, const struct sys_iovec *local, unsigned nlocal, const struct sys_iovec *remote,
                                        unsigned nremote) {
  return sys6(__NR_process_vm_readv, pid, (long)local, nlocal, (long)remote, nremote, 0);
}
static inline long sys_mmap(unsigned long len, int prot, int flags) { return sys6(__NR_mmap, 0, (long)len, prot, flags, -1, 0); }
static inline long sys_munmap(unsigned long addr, unsigned long len) { return sys2(__NR_munmap, addr, len); }
static inline long sys_mprotect(unsigned long addr, unsigned long len, int prot) { return sys3(__NR_mprotect, addr, len, prot); }
static inline long sys_madvise(unsigned long addr, unsigned long len, int advice) { return sys3(__NR_madvise, addr, len, advice); }
static inline long sys_brk(unsigned long addr) { return sys1(__NR_brk, addr); }
static inline long sys_dup3(int from, int to, int flags) { return sys3(__NR_dup3, from, to, flags); }
static inline long sys_fchdir(int fd) { return sys1(__NR_fchdir, fd); }
static inline long sys_umask(unsigned mask) { return sys1(__NR_umask, mask); }
static inline long sys_sigaltstack(const void *ss, void *old) { return sys2(__NR_sigaltstack, ss, old); }
static inline long sys_setitimer(int which, const void *value) { return sys3(__NR_setitimer, which, value, 0); }
static inline long sys_sigpending(uint64_t *set) { return sys2(__NR_rt_sigpending, set, 8); }
static inline long sys_userfaultfd(int flags) { return sys1(__NR_userfaultfd, flags); }
#define SYS_MAP_SHARED_ANON_NORESERVE 0x4021 /* MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE */
#define SYS_MAP_PRIVATE_ANON_NORESERVE 0x4022 /* MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE */
#define SYS_MAP_FIXED_NOREPLACE 0x100000
#define SYS_MADV_DONTNEED 4
#define SYS_MADV_HUGEPAGE 14
/* Linux 6.7's userfaultfd write-protect without faults and PAGEMAP_SCAN, which older headers
 * (Debian 12's) lack; the values are the kernel's ABI. */
#define SYS_UFFD_USER_MODE_ONLY 1
#define SYS_UFFD_API 0xAAull
#define SYS_UFFD_FEATURE_WP_UNPOPULATED (1ull << 13)
#define SYS_UFFD_FEATURE_WP_ASYNC (1ull << 15)
#define SYS_UFFDIO_API 0xc018aa3fu
#define SYS_UFFDIO_REGISTER 0xc020aa00u
#define SYS_UFFDIO_WRITEPROTECT 0xc018aa06u
#define SYS_UFFDIO_REGISTER_MODE_WP 2ull
#define SYS_UFFDIO_WRITEPROTECT_MODE_WP 1ull
struct sys_uffdio_api { uint64_t api, features, ioctls; };
struct sys_uffdio_register { uint64_t start, len, mode, ioctls; };
struct sys_uffdio_writeprotect { uint64_t start, len, mode; };
struct sys_page_region { uint64_t start, end, categories; };
struct sys_pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define SYS_PAGEMAP_SCAN 0xc0606610u /* _IOWR('f', 16, struct pm_scan_arg) */
#define SYS_PM_SCAN_WP_MATCHING 1ull
#define SYS_PM_SCAN_CHECK_WPASYNC 2ull
#define SYS_PAGE_IS_WRITTEN (1ull << 1)
#define SYS_PAGE_IS_FILE (1ull << 2)
#define SYS_PAGE_IS_PRESENT (1ull << 3)
#define SYS_PAGE_IS_SWAPPED (1ull << 4)
#define SYS_PAGE_IS_PFNZERO (1ull << 5)
#define SYS_PAGE_IS_GUARD (1ull << 8) /* Linux 6.14 */

static inline long sys_statx(int dfd, const char *path, int flags, unsigned mask, struct statx *st) {
  return sys5(__NR_statx, dfd, path, flags, mask, st);
}

/* fstat through statx: one layout on every architecture. */
static inline long sys_fstat(int fd, struct statx *st) {
  return sys5(__NR_statx, fd, "", 0x1000 /* AT_EMPTY_PATH */, STATX_TYPE | STATX_UID, st);
}

/* fork as glibc's own _Fork does it, so that libc in the child stays coherent: the kernel writes the
 * child's tid into the thread descriptor (ctid). With pidfd non-null, the parent also gets a pidfd of
 * the child there (CLONE_PIDFD, Linux 5.2), made close-on-exec by the kernel. */
static inline long sys_fork(int *ctid, int *pidfd) {
  unsigned long flags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SYS_SIGCHLD | (pidfd ? SYS_CLONE_PIDFD : 0);
#if defined(__x86_64__)
  return sys5(__NR_clone, flags, 0, pidfd, ctid, 0);
#else
  return sys5(__NR_clone, flags, 0, pidfd, 0, ctid);
#endif
}

#endif
