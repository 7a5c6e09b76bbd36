/* A libFuzzer-style target for libforksrv_main.a: LLVMFuzzerInitialize appends a line to $COUNTER
 * (when set); LLVMFuzzerTestOneInput crashes on "segv" and "abort", exits with the code of a non-zero
 * number, and otherwise returns. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int zero;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *counter = getenv("COUNTER");
  if (counter) {
    FILE *f = fopen(counter, "a");
    if (f) fputs("init\n", f), fclose(f);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char buf[64] = {0};
  memcpy(buf, data, size < sizeof buf - 1 ? size : sizeof buf - 1);
  if (!strcmp(buf, "segv")) *(volatile int *)(long)zero = 1;
  if (!strcmp(buf, "abort")) abort();
  if (atoi(buf)) exit(atoi(buf));
  return 0;
}
