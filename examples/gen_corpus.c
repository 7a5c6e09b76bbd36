/* Writes the demo corpus: N inputs of the parser's record format into DIR, a few malformed, and a
 * handful that reach the planted bug. Deterministic, so every run of the demo sees the same inputs. */
#include <stdio.h>
#include <stdlib.h>

static unsigned long seed = 12345;
static unsigned rnd(unsigned n) {
  seed = seed * 6364136223846793005ul + 1442695040888963407ul;
  return (unsigned)(seed >> 33) % n;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: gen_corpus DIR N\n");
    return 2;
  }
  static const char *const tags[] = {"name", "age", "city", "note", "id"};
  int count = atoi(argv[2]);
  for (int i = 0; i < count; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/input-%05d", argv[1], i);
    FILE *f = fopen(path, "wb");
    if (!f) {
      perror(path);
      return 1;
    }
    int records = 1 + (int)rnd(6);
    for (int r = 0; r < records; r++) {
      const char *tag = tags[rnd(5)];
      /* One input in 500 carries the 13-byte name that triggers the bug. */
      unsigned len = i % 500 == 499 && r == 0 ? 13 : rnd(12);
      if (i % 500 == 499 && r == 0) tag = "name";
      fprintf(f, "%s:%u:", tag, len);
      for (unsigned k = 0; k < len; k++) fputc('a' + (int)rnd(26), f);
      fputc(';', f);
    }
    if (i % 97 == 0) fputs("broken", f);
    fclose(f);
  }
  return 0;
}
