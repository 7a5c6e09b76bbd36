/* How the harness main says that an input failed, line for line as libFuzzer says it (FuzzerLoop.cpp:
 * the deadly signal, the timeout, the out-of-memory and the exit reports), and the artifact it
 * writes (crash-, timeout-, oom- and the input's SHA-1). Most of it runs in signal handlers, so it
 * formats and hashes by itself and writes with write(2): no stdio, no malloc. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct forksrv_harness forksrv_harness = {.artifact_prefix = "./", .out_fd = 2, .error_exitcode = HARNESS_EXIT_ERROR,
                                          .timeout_exitcode = HARNESS_EXIT_TIMEOUT, .timeout_s = 1200, .rss_limit_mb = 2048};
#define H forksrv_harness

/* libFuzzer prints an input's bytes only up to this size (kMaxUnitSizeToPrint). */
#define MAX_PRINTED 256

static void write_all(int fd, const void *p, size_t n) {
  for (size_t at = 0; at < n;) {
    ssize_t w = write(fd, (const char *)p + at, n - at);
    if (w <= 0) break;
    at += (size_t)w;
  }
}

/* A line longer than the buffer goes out in pieces. */
static void put(char *buf, size_t *n, size_t cap, char c) {
  if (*n == cap) write_all(H.out_fd, buf, *n), *n = 0;
  buf[(*n)++] = c;
}

static void put_num(char *buf, size_t *n, size_t cap, unsigned long v, unsigned base, int width, char pad) {
  char digits[24];
  int k = 0;
  do digits[k++] = "0123456789abcdef"[v % base], v /= base;
  while (v);
  while (k < width && k < (int)sizeof digits) digits[k++] = pad;
  while (k) put(buf, n, cap, digits[--k]);
}

/* %s %c %d %ld %lu %zu %x %o %%, numbers with a width ("%8zu", "%03o"): what the reports use. */
void forksrv_harness_say(const char *fmt, ...) {
  char buf[4096];
  size_t n = 0;
  va_list ap;
  va_start(ap, fmt);
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      put(buf, &n, sizeof buf, *f);
      continue;
    }
    f++;
    char pad = *f == '0' ? '0' : ' ';
    int width = 0;
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    if (*f == '%') {
      put(buf, &n, sizeof buf, '%');
    } else if (*f == 's') {
      for (const char *s = va_arg(ap, const char *); *s; s++) put(buf, &n, sizeof buf, *s);
    } else if (*f == 'c') {
      put(buf, &n, sizeof buf, (char)va_arg(ap, int));
    } else if (*f == 'd' || (*f == 'l' && f[1] == 'd')) {
      long v = *f == 'd' ? va_arg(ap, int) : va_arg(ap, long);
      if (*f == 'l') f++;
      if (v < 0) put(buf, &n, sizeof buf, '-');
      put_num(buf, &n, sizeof buf, v < 0 ? 0ul - (unsigned long)v : (unsigned long)v, 10, width, pad);
    } else if ((*f == 'l' || *f == 'z') && f[1] == 'u') {
      f++;
      put_num(buf, &n, sizeof buf, *(f - 1) == 'l' ? va_arg(ap, unsigned long) : va_arg(ap, size_t), 10, width, pad);
    } else if (*f == 'x' || *f == 'o') {
      put_num(buf, &n, sizeof buf, va_arg(ap, unsigned), *f == 'x' ? 16 : 8, width, pad);
    } else {
      break; /* a conversion it does not know: nothing after it would be right */
    }
  }
  va_end(ap);
  write_all(H.out_fd, buf, n);
}

/* --- SHA-1 (FIPS 180-4), for the artifact's name --- */
static uint32_t rol(uint32_t x, int k) { return x << k | x >> (32 - k); }

static void sha1_block(uint32_t h[5], const uint8_t *p) {
  uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  for (int i = 0; i < 80; i++) {
    uint32_t f = i < 20 ? (b & c) | (~b & d) : i < 40 ? b ^ c ^ d : i < 60 ? (b & c) | (b & d) | (c & d) : b ^ c ^ d;
    uint32_t k = i < 20 ? 0x5a827999 : i < 40 ? 0x6ed9eba1 : i < 60 ? 0x8f1bbcdc : 0xca62c1d6;
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d, d = c, c = rol(b, 30), b = a, a = t;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

static void sha1_hex(const uint8_t *data, size_t size, char out[41]) {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  size_t i = 0;
  for (; size - i >= 64; i += 64) sha1_block(h, data + i);
  uint8_t last[128] = {0};
  size_t rest = size - i;
  memcpy(last, data + i, rest);
  last[rest] = 0x80;
  size_t blocks = rest < 56 ? 1 : 2;
  uint64_t bits = (uint64_t)size * 8;
  for (int k = 0; k < 8; k++) last[blocks * 64 - 1 - k] = (uint8_t)(bits >> (8 * k));
  for (size_t b = 0; b < blocks; b++) sha1_block(h, last + 64 * b);
  for (int k = 0; k < 40; k++) out[k] = "0123456789abcdef"[h[k / 8] >> (28 - 4 * (k % 8)) & 15];
  out[40] = '\0';
}

/* libFuzzer's PrintASCII: printable bytes as they are, backslash and quote escaped, others octal. */
static void say_ascii(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\\') forksrv_harness_say("\\\\");
    else if (p[i] == '"') forksrv_harness_say("\\\"");
    else if (p[i] >= 32 && p[i] < 127) forksrv_harness_say("%c", p[i]);
    else forksrv_harness_say("\\%03o", p[i]);
  }
  forksrv_harness_say("\n");
}

static void say_base64(const uint8_t *p, size_t n) {
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char out[4 * (MAX_PRINTED / 3 + 1) + 1];
  size_t k = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out[k++] = abc[v >> 18 & 63];
    out[k++] = abc[v >> 12 & 63];
    out[k++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
    out[k++] = i + 2 < n ? abc[v & 63] : '=';
  }
  out[k] = '\0';
  forksrv_harness_say("Base64: %s\n", out);
}

/* s after buf[0..len), cut to cap - 1 bytes and terminated; the new length. */
static size_t append(char *buf, size_t len, size_t cap, const char *s) {
  while (*s && len < cap - 1) buf[len++] = *s++;
  buf[len] = '\0';
  return len;
}

/* libFuzzer's DumpCurrentUnit: the input, and where it was written. An input named on the command
 * line is a file already: libFuzzer writes none, and prints it only when -max_len is given. */
static void dump_unit(const char *kind) {
  if (!H.show_unit || !__atomic_load_n(&H.running, __ATOMIC_ACQUIRE)) return; /* no input: nothing to dump */
  const uint8_t *p = H.data;
  size_t n = H.size;
  forksrv_harness_say("MS: 0 ; base unit: 0000000000000000000000000000000000000000\n");
  if (n <= MAX_PRINTED) {
    for (size_t i = 0; i < n; i++) forksrv_harness_say("0x%x,", p[i]);
    forksrv_harness_say("\n");
    say_ascii(p, n);
  }
  if (!H.artifacts) return;
  char path[4096], sum[41];
  if (H.exact_artifact_path) {
    append(path, 0, sizeof path, H.exact_artifact_path);
  } else {
    sha1_hex(p, n, sum);
    append(path, append(path, append(path, 0, sizeof path, H.artifact_prefix), sizeof path, kind), sizeof path, sum);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd >= 0) write_all(fd, p, n), close(fd);
  forksrv_harness_say("artifact_prefix='%s'; Test unit written to %s\n", H.artifact_prefix, path);
  if (n <= MAX_PRINTED) say_base64(p, n);
}

/* One report at a time, as libFuzzer's __sanitizer_acquire_crash_state: a second one (the alarm, or
 * the RSS thread, while a crash is being told) does not start. */
static int first_report(void) {
  static int taken;
  return !__atomic_exchange_n(&taken, 1, __ATOMIC_ACQ_REL);
}

static void on_deadly_signal(int sig) {
  (void)sig;
  if (!first_report()) _exit(H.error_exitcode);
  forksrv_harness_say("==%d== ERROR: libFuzzer: deadly signal\n\n"
                      "NOTE: libFuzzer has rudimentary signal handlers.\n"
                      "      Combine libFuzzer with AddressSanitizer or similar for better crash reports.\n"
                      "SUMMARY: libFuzzer: deadly signal\n",
                      (int)getpid());
  dump_unit("crash-");
  _exit(H.error_exitcode);
}

long forksrv_harness_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* As libFuzzer's AlarmCallback: the alarm rings every timeout/2 + 1 seconds, and an input that has
 * run for the timeout or longer by then has timed out. */
static void on_alarm(int sig) {
  (void)sig;
  if (!__atomic_load_n(&H.running, __ATOMIC_ACQUIRE)) return;
  /* Whole seconds the input has run, as libFuzzer counts them. */
  long seconds = (forksrv_harness_now_ms() - H.started_ms) / 1000;
  if (seconds <= 0 || seconds < H.timeout_s || !first_report()) return;
  forksrv_harness_say("ALARM: working on the last Unit for %ld seconds\n"
                      "       and the timeout value is %ld (use -timeout=N to change)\n",
                      seconds, H.timeout_s);
  dump_unit("timeout-");
  forksrv_harness_say("==%d== ERROR: libFuzzer: timeout after %ld seconds\n\nSUMMARY: libFuzzer: timeout\n", (int)getpid(),
                      seconds);
  _exit(H.timeout_exitcode);
}

static void on_exit_call(void) {
  if (!__atomic_load_n(&H.running, __ATOMIC_ACQUIRE)) return; /* main's own exit, not the target's */
  if (!first_report()) return;
  forksrv_harness_say("==%d== ERROR: libFuzzer: fuzz target exited\n\nSUMMARY: libFuzzer: fuzz target exited\n", (int)getpid());
  dump_unit("crash-");
  _exit(H.error_exitcode);
}

/* A sanitizer reports the crash itself; the artifact follows, as libFuzzer's death callback writes it.
 * A death while no input runs (a leak found at exit) has no input to write. */
static void on_sanitizer_death(void) {
  if (first_report()) dump_unit("crash-");
}
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* As libFuzzer's RSS thread: once a second, the peak RSS against -rss_limit_mb. */
static void *watch_rss(void *arg) {
  (void)arg;
  sigset_t alarm;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &alarm, 0); /* the alarm is the main thread's */
  for (;;) {
    sleep(1);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) continue;
    long peak_mb = ru.ru_maxrss / 1024;
    if (peak_mb <= H.rss_limit_mb) continue;
    if (!first_report()) return 0;
    forksrv_harness_say("==%d== ERROR: libFuzzer: out-of-memory (used: %ldMb; limit: %ldMb)\n"
                        "   To change the out-of-memory limit use -rss_limit_mb=<N>\n\n",
                        (int)getpid(), peak_mb, H.rss_limit_mb);
    dump_unit("oom-");
    forksrv_harness_say("SUMMARY: libFuzzer: out-of-memory\n");
    _exit(HARNESS_EXIT_OOM);
  }
  return 0;
}

void forksrv_harness_catch(void) {
  static char alt[64 * 1024];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
  sigaltstack(&ss, 0);
  /* Only where nobody else catches the signal: a sanitizer's handler reports better. */
  static const int deadly[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
  for (size_t i = 0; i < sizeof deadly / sizeof deadly[0]; i++) {
    struct sigaction old, sa = {.sa_handler = on_deadly_signal, .sa_flags = SA_ONSTACK | SA_NODEFER | SA_RESETHAND};
    if (sigaction(deadly[i], 0, &old) == 0 && old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO))
      sigaction(deadly[i], &sa, 0);
  }
  if (H.timeout_s > 0) {
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, 0);
    struct itimerval every = {{H.timeout_s / 2 + 1, 0}, {H.timeout_s / 2 + 1, 0}};
    setitimer(ITIMER_REAL, &every, 0);
  }
  atexit(on_exit_call);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(on_sanitizer_death);
  if (H.rss_limit_mb > 0) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &attr, watch_rss, 0);
    pthread_attr_destroy(&attr);
  }
}
