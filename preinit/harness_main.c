/* The main of a fuzz target built from LLVMFuzzerTestOneInput (libforksrv_main.a): the one part of
 * forksrv that uses libc, because it is the target's own main, not the server. Under the forksrv
 * driver it runs LLVMFuzzerInitialize once, starts the server after it (the deferred start), and
 * each child handles up to PERSISTENT_INPUTS inputs from stdin or '@@'. Without a driver it takes
 * libFuzzer's command line, as OSS-Fuzz and ClusterFuzz scripts call a fuzz target to reproduce
 * and replay, and answers with libFuzzer's lines and exit codes (harness_report.c); it does not fuzz. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fifo/protocol.h"
#include "harness.h"

/* What forksrv.h's forksrv_start() leaves in a binary: the driver then waits for the call below. */
static const char deferred_signature[] __attribute__((used)) = FIFO_DEFERRED_SIGNATURE;

/* Strong references: linking libforksrv_main.a brings the server along. */
int forksrv_start_server(void);
int forksrv_loop_server(unsigned n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define PERSISTENT_INPUTS 1000
#define H forksrv_harness

static long runs = -1, max_len, error_exitcode = HARNESS_EXIT_ERROR, timeout_exitcode = HARNESS_EXIT_TIMEOUT, help,
            close_fd_mask;

/* --- libFuzzer's flags: -name=value; any argument that starts with '-' is one --- */
static const struct flag {
  const char *name;
  long *number;
  const char **text;
} implemented[] = {
    {"runs", &runs, 0},
    {"timeout", &H.timeout_s, 0},
    {"rss_limit_mb", &H.rss_limit_mb, 0},
    {"max_len", &max_len, 0},
    {"artifact_prefix", 0, &H.artifact_prefix},
    {"exact_artifact_path", 0, &H.exact_artifact_path},
};
static const struct flag also[] = {
    {"error_exitcode", &error_exitcode, 0},
    {"timeout_exitcode", &timeout_exitcode, 0},
    {"help", &help, 0},
    {"close_fd_mask", &close_fd_mask, 0},
};
/* libFuzzer's other flags (FuzzerFlags.def): known, accepted, and said to be ignored. */
static const char *const ignored[] = {
    "verbosity", "seed", "len_control", "seed_inputs", "keep_seed", "cross_over", "cross_over_uniform_dist",
    "mutate_depth", "reduce_depth", "shuffle", "prefer_small", "max_total_time", "fork", "fork_corpus_groups",
    "ignore_timeouts", "ignore_ooms", "ignore_crashes", "merge", "set_cover_merge", "stop_file", "merge_inner",
    "merge_control_file", "minimize_crash", "cleanse_crash", "minimize_crash_internal_step", "mutation_graph_file",
    "use_counters", "use_memmem", "use_value_profile", "use_cmp", "shrink", "reduce_inputs", "jobs", "workers",
    "reload", "report_slow_units", "only_ascii", "dict", "print_pcs", "print_funcs", "print_final_stats",
    "print_corpus_stats", "print_coverage", "print_full_coverage", "dump_coverage", "handle_segv", "handle_bus",
    "handle_abrt", "handle_ill", "handle_fpe", "handle_int", "handle_term", "handle_xfsz", "handle_usr1",
    "handle_usr2", "handle_winch", "handle_winexcept", "detect_leaks", "purge_allocator_interval", "trace_malloc", "malloc_limit_mb",
    "exit_on_src_pos", "exit_on_item", "focus_function", "entropic",
    "entropic_feature_frequency_threshold", "entropic_number_of_rarest_features", "entropic_scale_per_exec_time",
    "analyze_dict", "use_clang_coverage", "data_flow_trace", "collect_data_flow", "create_missing_dirs",
};

static int set_flag(const struct flag *f, size_t n, const char *name, size_t len, const char *value) {
  for (size_t i = 0; i < n; i++) {
    if (strlen(f[i].name) != len || strncmp(f[i].name, name, len)) continue;
    if (f[i].text) *f[i].text = value;
    else *f[i].number = strtol(value, 0, 10);
    return 1;
  }
  return 0;
}

/* Flags out of argv, inputs left in it; quiet under the driver, where each child would repeat it. */
static int parse(int argc, char **argv, int quiet) {
  int inputs = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *eq = strchr(a, '=');
    /* What follows is the target's own, neither flags nor inputs. */
    if (!strncmp(a, "-ignore_remaining_args=", 23) && strtol(a + 23, 0, 10) != 0) break;
    if (a[0] != '-') {
      argv[inputs++] = argv[i];
      continue;
    }
    if (a[1] == '-') {
      if (!quiet) forksrv_harness_say("INFO: libFuzzer ignores flags that start with '--'\n");
      continue;
    }
    size_t len = eq ? (size_t)(eq - a - 1) : 0;
    if (eq && (set_flag(implemented, sizeof implemented / sizeof implemented[0], a + 1, len, eq + 1) ||
               set_flag(also, sizeof also / sizeof also[0], a + 1, len, eq + 1)))
      continue;
    int known = 0;
    for (size_t k = 0; eq && k < sizeof ignored / sizeof ignored[0]; k++)
      known |= strlen(ignored[k]) == len && !strncmp(ignored[k], a + 1, len);
    if (quiet) continue;
    if (known) forksrv_harness_say("INFO: %s: ignored: this main runs inputs, it does not fuzz\n", a);
    else forksrv_harness_say("\n\nWARNING: unrecognized flag '%s'; use -help=1 to list all flags\n\n", a);
  }
  argv[inputs] = 0;
  H.error_exitcode = (int)error_exitcode;
  H.timeout_exitcode = (int)timeout_exitcode;
  if (H.exact_artifact_path && !*H.exact_artifact_path) H.exact_artifact_path = 0; /* empty is unset */
  return inputs - 1;
}

static int usage(const char *prog) {
  forksrv_harness_say(
      "Usage:\n\n"
      "To run individual tests without fuzzing pass 1 or more files:\n"
      "%s [-flag1=val1 [-flag2=val2 ...] ] file1 [file2 ...]\n\n"
      "To run every input of 1 or more directories once (this main does not fuzz):\n"
      "%s [-flag1=val1 [-flag2=val2 ...] ] dir1 [dir2 ...]\n\n"
      "Flags: (strictly in form -flag=value)\n"
      " runs                 -1     Times each file named runs (at least once).\n"
      " timeout              1200   Timeout in seconds (if positive) for one input.\n"
      " rss_limit_mb         2048   If non-zero, exit upon reaching this peak RSS.\n"
      " max_len              0      If non-zero, inputs are cut to this many bytes.\n"
      " artifact_prefix      ./     Write failing inputs from directories as $(artifact_prefix)crash-<sha1>.\n"
      " exact_artifact_path  0      Write the failing input as this file instead.\n"
      " close_fd_mask        0      If 1, close stdout at startup; if 2, close stderr; if 3, both.\n"
      " error_exitcode       77     Exit code on a crash, or when the target calls exit.\n"
      " timeout_exitcode     70     Exit code on a timeout.\n"
      " help                 0      Print help.\n"
      "libFuzzer's other flags are accepted and ignored.\n",
      prog, prog);
  return 0;
}

/* Inputs from directories are cut to 1 MiB when -max_len is not given, as libFuzzer cuts its corpus. */
#define CORPUS_MAX_LEN (1l << 20)

/* The whole of fd, in a buffer of exactly its size, so that a sanitizer sees reads past the end. */
static uint8_t *read_all(int fd, size_t *size) {
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  for (ssize_t r; buf; n += (size_t)r) {
    if (n == cap) {
      uint8_t *bigger = realloc(buf, cap *= 2);
      if (!bigger) break;
      buf = bigger;
    }
    r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) r = 0;
    else if (r < 0) break;
    else if (r == 0) {
      long limit = max_len > 0 ? max_len : H.artifacts ? CORPUS_MAX_LEN : 0;
      if (limit > 0 && n > (size_t)limit) n = (size_t)limit;
      uint8_t *exact = malloc(n ? n : 1);
      if (exact) memcpy(exact, buf, n);
      free(buf);
      *size = n;
      return exact;
    }
  }
  free(buf);
  return NULL;
}

static void run_one(const uint8_t *data, size_t size) {
  H.data = data;
  H.size = size;
  H.started_ms = forksrv_harness_now_ms();
  __atomic_store_n(&H.running, 1, __ATOMIC_RELEASE);
  LLVMFuzzerTestOneInput(data, size);
  __atomic_store_n(&H.running, 0, __ATOMIC_RELEASE);
}

static int run_fd(int fd, long times) {
  size_t size;
  uint8_t *data = read_all(fd, &size);
  if (!data) {
    forksrv_harness_say("forksrv harness: read: %s\n", strerror(errno));
    return -1;
  }
  for (long i = 0; i < times; i++) run_one(data, size);
  free(data);
  return 0;
}

static int run_file(const char *path, long times) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    forksrv_harness_say("forksrv harness: %s: %s\n", path, strerror(errno));
    return -1;
  }
  int r = run_fd(fd, times);
  close(fd);
  return r;
}

/* Under the server, or in the driver's plain run of the same input: the path named, or stdin. */
static int run_as_under_server(int inputs, char **argv) { return inputs ? run_file(argv[1], 1) : run_fd(0, 1); }

/* --- directories: every file in them, smallest first, as libFuzzer reads a seed corpus --- */
struct file {
  char *path;
  off_t size;
};
static struct file *files;
static size_t nfiles, capfiles;

static void add_file(const char *path, off_t size) {
  if (nfiles == capfiles) {
    struct file *more = realloc(files, (capfiles * 2 + 64) * sizeof *files);
    if (!more) return;
    files = more, capfiles = capfiles * 2 + 64;
  }
  files[nfiles++] = (struct file){strdup(path), size};
}

/* Inside a directory only regular files and symlinks to them count: a symlinked directory (l -> .)
 * would make the walk endless, and a FIFO would block it. Directories whose name starts with '.' are
 * left out, files so named are not, as libFuzzer lists a corpus. */
static int collect(const char *dir) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  if (n < 0) return -1;
  for (int i = 0; i < n; i++) {
    char sub[4096];
    struct stat st;
    if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..") &&
        snprintf(sub, sizeof sub, "%s/%s", dir, names[i]->d_name) < (int)sizeof sub && lstat(sub, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        if (names[i]->d_name[0] != '.') collect(sub);
      } else if (S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && stat(sub, &st) == 0 && S_ISREG(st.st_mode))) {
        add_file(sub, st.st_size);
      }
    }
    free(names[i]);
  }
  free(names);
  return 0;
}

static int by_size(const void *a, const void *b) {
  const struct file *x = a, *y = b;
  return x->size != y->size ? (x->size < y->size ? -1 : 1) : strcmp(x->path, y->path);
}

/* libFuzzer with directories fuzzes; this main runs the empty input and every file once, as
 * libFuzzer does with -runs=0, and ends. A file named among the directories runs too. */
static int run_directories(char **paths, int n) {
  long t0 = forksrv_harness_now_ms();
  for (int i = 0; i < n; i++) {
    struct stat st;
    if (stat(paths[i], &st) != 0) {
      if (i == 0) forksrv_harness_say("ERROR: The required directory \"%s\" does not exist\n", paths[i]);
      else forksrv_harness_say("No such file or directory: %s; exiting\n", paths[i]);
      return 1;
    }
    size_t before = nfiles;
    if (S_ISDIR(st.st_mode)) collect(paths[i]);
    else add_file(paths[i], st.st_size);
    if (S_ISDIR(st.st_mode)) forksrv_harness_say("INFO: %8zu files found in %s\n", nfiles - before, paths[i]);
  }
  if (runs > 0) forksrv_harness_say("INFO: -runs=%ld: this main does not fuzz: each input runs once\n", runs);
  qsort(files, nfiles, sizeof *files, by_size);
  H.artifacts = H.show_unit = 1;
  static const uint8_t empty[1];
  run_one(empty, 0);
  int bad = 0;
  for (size_t i = 0; i < nfiles; i++) bad |= run_file(files[i].path, 1) < 0;
  forksrv_harness_say("Done %zu runs in %ld second(s)\n", nfiles + 1, (forksrv_harness_now_ms() - t0) / 1000);
  return bad;
}

/* libFuzzer's reproducer mode: each file named, -runs times. */
static int run_files(const char *prog, char **paths, int n) {
  long times = runs > 1 ? runs : 1;
  forksrv_harness_say("%s: Running %d inputs %ld time(s) each.\n", prog, n, times);
  int bad = 0;
  for (int i = 0; i < n; i++) {
    long t0 = forksrv_harness_now_ms();
    forksrv_harness_say("Running: %s\n", paths[i]);
    bad |= run_file(paths[i], times) < 0;
    forksrv_harness_say("Executed %s in %ld ms\n", paths[i], forksrv_harness_now_ms() - t0);
  }
  forksrv_harness_say("***\n*** NOTE: fuzzing was not performed, you have only\n"
                      "***       executed the target code on a fixed set of inputs.\n***\n");
  return bad;
}

/* As libFuzzer: a -artifact_prefix or -exact_artifact_path whose directory is missing ends the run
 * before any input does (a prefix that ends in '/' is that directory). */
static int missing_artifact_dir(const char *path) {
  char dir[4096];
  size_t n = path ? strlen(path) : 0;
  if (!n || n >= sizeof dir) return 0;
  memcpy(dir, path, n + 1);
  if (dir[n - 1] != '/') {
    char *slash = strrchr(dir, '/');
    if (!slash) return 0; /* the working directory */
    slash[slash == dir] = '\0';
  }
  struct stat st;
  if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  forksrv_harness_say("ERROR: The required directory \"%s\" does not exist\n", dir);
  return 1;
}

/* -close_fd_mask: the target's stdout, stderr or both go to /dev/null; these lines still reach stderr. */
static void close_fds(void) {
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null < 0) return;
  if (close_fd_mask & 2) {
    int keep = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (keep >= 0) H.out_fd = keep, dup2(null, 2);
  }
  if (close_fd_mask & 1) dup2(null, 1);
  close(null);
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  if (forksrv_start_server()) {
    /* A child of the server: one input per iteration, the same path (or stdin, rewound) each time.
     * What an input printed is that input's output: flushed before the next begins, as a process of
     * its own would flush it at its exit. */
    int n = parse(argc, argv, 1);
    while (forksrv_loop_server(PERSISTENT_INPUTS)) {
      if (run_as_under_server(n, argv) < 0) return 1;
      fflush(NULL);
    }
    return 0;
  }
  const char *plain = getenv(FIFO_ENV_PLAIN);
  if (plain && !strcmp(plain, "1")) {
    /* The driver's plain run of the same input: as its server's child runs it, so that the two agree. */
    return run_as_under_server(parse(argc, argv, 1), argv) < 0;
  }
  int n = parse(argc, argv, 0);
  /* libFuzzer prints a failing input named on the command line whenever -max_len is given. */
  H.show_unit = max_len > 0;
  if (help) return usage(argv[0]);
  if (missing_artifact_dir(H.artifact_prefix) || missing_artifact_dir(H.exact_artifact_path)) return 1;
  close_fds();
  forksrv_harness_catch();
  if (n == 0) return run_fd(0, 1) < 0;
  int all_files = 1;
  for (int i = 1; i <= n; i++) {
    struct stat st;
    all_files &= stat(argv[i], &st) == 0 && S_ISREG(st.st_mode);
  }
  return all_files ? run_files(argv[0], argv + 1, n) : run_directories(argv + 1, n);
}
