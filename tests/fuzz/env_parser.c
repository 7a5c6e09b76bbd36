/* Fuzzes the server's /proc/self/environ parser: arbitrary bytes as the environment, fed in chunks
 * of sizes the input also chooses, compared with a plain whole-buffer reference parser. The first
 * byte picks the chunk size; the rest is the environment. */
#include <stddef.h>
#include <stdint.h>

#include "../../preinit/server.h"

#define NVARS 4
static const char *const names[NVARS] = {"FORKSRV_FIFO_IN", "FORKSRV_FIFO_OUT", "A", "AB"};

/* The reference: split at NUL bytes; the first "NAME=" entry of each name wins; a value that does not
 * fit FSRV_PATH_MAX with its terminator is too long. */
static void reference(const uint8_t *env, size_t n, int found[NVARS], int too_long[NVARS], const uint8_t *val[NVARS],
                      size_t len[NVARS]) {
  for (size_t start = 0; start < n;) {
    size_t end = start;
    while (end < n && env[end]) end++;
    for (int v = 0; v < NVARS; v++) {
      size_t k = 0;
      while (names[v][k] && start + k < end && env[start + k] == (uint8_t)names[v][k]) k++;
      if (names[v][k] || start + k >= end || env[start + k] != '=' || found[v]) continue;
      found[v] = 1;
      val[v] = env + start + k + 1;
      len[v] = end - (start + k + 1);
      too_long[v] = len[v] + 1 > FSRV_PATH_MAX;
    }
    start = end + 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = 1 + data[0] % 64;
  const uint8_t *env = data + 1;
  size_t n = size - 1;

  static struct fsrv_env_var vars[NVARS];
  for (int v = 0; v < NVARS; v++) vars[v].name = names[v];
  struct fsrv_env_parser p;
  fsrv_env_init(&p, vars, NVARS);
  for (size_t at = 0; at < n; at += chunk) fsrv_env_feed(&p, (const char *)env + at, n - at < chunk ? n - at : chunk);
  fsrv_env_finish(&p);

  int found[NVARS] = {0}, too_long[NVARS] = {0};
  const uint8_t *val[NVARS] = {0};
  size_t len[NVARS] = {0};
  reference(env, n, found, too_long, val, len);
  for (int v = 0; v < NVARS; v++) {
    if (vars[v].found != found[v] || (found[v] && vars[v].too_long != too_long[v])) __builtin_trap();
    if (!found[v] || too_long[v]) continue;
    for (size_t k = 0; k < len[v]; k++)
      if ((uint8_t)vars[v].value[k] != val[v][k]) __builtin_trap();
    if (vars[v].value[len[v]] != '\0') __builtin_trap();
  }
  return 0;
}
