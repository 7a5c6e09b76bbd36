/* Core pinning: a driver, its server and the children on one core turn every hand-off between them
 * into a same-core wake-up instead of a slower cross-core one (measured: see docs/benchmarks.md). The
 * free core is chosen as AFL++ chooses: skip every core some process is already pinned to alone. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pin.h"

/* Marks in busy[] the core of every user process (ourselves aside) allowed on exactly one core. Kernel
 * threads, which have no VmSize, are per-core by nature and count for nothing. */
static void mark_pinned_cores(unsigned char *busy, int ncpu) {
  DIR *proc = opendir("/proc");
  if (!proc) return;
  char self[16];
  snprintf(self, sizeof self, "%d", (int)getpid());
  for (struct dirent *e; (e = readdir(proc));) {
    if (!isdigit((unsigned char)e->d_name[0]) || !strcmp(e->d_name, self)) continue;
    char path[300], line[256];
    snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
    FILE *f = fopen(path, "re");
    if (!f) continue;
    int user = 0;
    while (fgets(line, sizeof line, f)) {
      if (!strncmp(line, "VmSize:", 7)) user = 1;
      if (strncmp(line, "Cpus_allowed_list:", 18)) continue;
      char *end;
      long cpu = strtol(line + 18, &end, 10);
      /* "3" alone is a pinned process; "0-1" or "0,2" is not. VmSize comes before it. */
      if (user && end != line + 18 && (*end == '\n' || *end == '\0') && cpu >= 0 && cpu < ncpu) busy[cpu] = 1;
      break;
    }
    fclose(f);
  }
  closedir(proc);
}

int drv_pick_cpus(int *cores, int max) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) < 0) return 0;
  int ncpu = CPU_SETSIZE;
  unsigned char *busy = calloc((size_t)ncpu, 1);
  if (!busy) return 0;
  mark_pinned_cores(busy, ncpu);
  int n = 0;
  for (int cpu = 0; cpu < ncpu && n < max; cpu++)
    if (CPU_ISSET(cpu, &allowed) && !busy[cpu]) cores[n++] = cpu;
  free(busy);
  return n;
}

int drv_pin(const int *cores, int n) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < n; i++) {
    if (cores[i] < 0 || cores[i] >= CPU_SETSIZE) {
      errno = EINVAL;
      return -1;
    }
    CPU_SET(cores[i], &set);
  }
  return sched_setaffinity(0, sizeof set, &set);
}
