/* The suite's reference: runs a command as a shell would run it directly, with none of forksrv's
 * plumbing. `direct TIMEOUT_MS INPUT -- CMD ARGS...` puts INPUT in place of each '@@' (stdin is then
 * /dev/null), else on stdin, and prints the outcome as forksrv's --json spells it
 * ("result":"exited","exit_code":N, "crashed" with "signal", or "timeout"). The sanitizers' options
 * get NAME.repro's defaults; what the command leaves running is killed (we are its subreaper). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char *replace_all(const char *arg, const char *with) {
  size_t cap = strlen(arg) + 1;
  for (const char *s = strstr(arg, "@@"); s; s = strstr(s + 2, "@@")) cap += strlen(with);
  char *out = malloc(cap), *o = out;
  for (const char *s = arg;;) {
    const char *hit = strstr(s, "@@");
    size_t keep = hit ? (size_t)(hit - s) : strlen(s);
    memcpy(o, s, keep), o += keep;
    if (!hit) break;
    o = stpcpy(o, with);
    s = hit + 2;
  }
  *o = '\0';
  return out;
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--")) {
    fprintf(stderr, "usage: direct TIMEOUT_MS INPUT -- CMD ARGS...\n");
    return 2;
  }
  int timeout_ms = atoi(argv[1]), by_path = 0;
  const char *input = argv[2];
  char **args = argv + 4;
  for (char **a = args; *a; a++)
    if (strstr(*a, "@@")) *a = replace_all(*a, input), by_path = 1;
  /* NAME.repro's sanitizer options (driver/spawn.c's drv_sanitizer_defaults), written out here so
   * that the reference shares no code with what it checks. */
  static const char *const defaults[][2] = {{"ASAN_OPTIONS", "verify_asan_link_order=0:abort_on_error=1"},
                                            {"UBSAN_OPTIONS", "halt_on_error=1:abort_on_error=1"},
                                            {"MSAN_OPTIONS", "halt_on_error=1:abort_on_error=1"},
                                            {"LSAN_OPTIONS", "abort_on_error=1"}};
  /* An abort_on_error of the user's in any of them holds in all (the runtimes share it). */
  char abort_on_error[64] = "";
  for (size_t i = 0; i < sizeof defaults / sizeof defaults[0] && !abort_on_error[0]; i++) {
    const char *own = getenv(defaults[i][0]), *at = NULL;
    for (const char *p = own ? strstr(own, "abort_on_error=") : NULL; p; p = strstr(p + 1, "abort_on_error="))
      if (p == own || p[-1] == ':' || p[-1] == ' ' || p[-1] == ',') at = p;
    if (at) snprintf(abort_on_error, sizeof abort_on_error, ":%.*s", (int)strcspn(at, ": ,"), at);
  }
  char opts[sizeof defaults / sizeof defaults[0]][4096];
  for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
    const char *own = getenv(defaults[i][0]);
    snprintf(opts[i], sizeof opts[i], "%s%s%s%s", defaults[i][1], abort_on_error, own && *own ? ":" : "", own ? own : "");
  }
  for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) setenv(defaults[i][0], opts[i], 1);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int in = open(by_path ? "/dev/null" : input, O_RDONLY), null = open("/dev/null", O_WRONLY);
    if (in < 0 || null < 0) _exit(127);
    dup2(in, 0), dup2(null, 1), dup2(null, 2);
    execvp(args[0], args);
    _exit(127);
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  struct pollfd p = {pidfd, POLLIN, 0};
  int timed_out = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1) == 0;
  kill(-pid, SIGKILL);
  if (timed_out) kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  /* What it left: its group, then whatever was reparented to us. */
  for (pid_t left; (left = waitpid(-1, NULL, WNOHANG)) != 0;) {
    if (left > 0) continue;
    break;
  }
  FILE *f;
  int child, again = 1;
  while (again && (f = fopen("/proc/thread-self/children", "r"))) {
    again = 0;
    while (fscanf(f, "%d", &child) == 1) kill(child, SIGKILL), again = 1;
    fclose(f);
    while (again && waitpid(-1, NULL, 0) > 0) {}
  }
  if (timed_out)
    printf("\"result\":\"timeout\",\"signal\":\"SIGKILL\"\n");
  else if (WIFSIGNALED(status))
    printf("\"result\":\"crashed\",\"signal\":\"SIG%s\"\n", sigabbrev_np(WTERMSIG(status)));
  else
    printf("\"result\":\"exited\",\"exit_code\":%d\n", WEXITSTATUS(status));
  return 0;
}
