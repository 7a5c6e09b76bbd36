#!/usr/bin/env bash
# System calls per execution, on each side: strace follows the driver, the server and every child
# over N executions of the trivial bench target (stdin input) and counts each process's calls by
# role. The README quotes its output. Usage: scripts/syscalls.sh [BUILD_DIR] [N] [FORKSRV OPTIONS]
set -eu
b=$(cd "${1:-build}" && pwd)
n=${2:-10000}
shift 2 2>/dev/null || shift $#
trace=$(mktemp "${TMPDIR:-/tmp}/forksrv-strace.XXXXXX")
trap 'rm -f "$trace"' EXIT
strace -f -qq -o "$trace" "$b/forksrv" -n "$n" "$@" -- "$b/bench/target" >/dev/null 2>&1
# The first pid is the driver; the server is the process that was started once and forked the rest
# (the one with the most clone calls); every other pid is one execution's child, but for one: the
# janitor the driver forks for its run directory, counted among the children.
awk -v n="$n" '
  { pid = $1; sub(/^[0-9]+ +/, ""); if ($0 ~ /^<\.\.\. |^\+\+\+|^---/) next
    name = $0; sub(/\(.*/, "", name); calls[pid]++; per[pid, name]++
    if (!(pid in seen)) { seen[pid] = 1; order[++npids] = pid }
    if (name == "clone" || name == "clone3") clones[pid]++ }
  END {
    driver = order[1]
    for (i = 2; i <= npids; i++) if (clones[order[i]] > clones[server]) server = order[i]
    for (i = 1; i <= npids; i++) { p = order[i]; if (p != driver && p != server) { child += calls[p]; kids++ } }
    printf "per execution, over %d executions (%d children):\n", n, kids
    printf "  driver  %5.1f\n  server  %5.1f\n  child   %5.1f   (with the target\047s own read and exit_group)\n", \
      calls[driver] / n, calls[server] / n, child / (kids ? kids : 1)
    for (k in per) { split(k, a, SUBSEP); if (a[1] == server && per[k] >= n / 2) srv = srv sprintf(" %s %.1f", a[2], per[k] / n) }
    for (k in per) { split(k, a, SUBSEP); if (a[1] == driver && per[k] >= n / 2) drv = drv sprintf(" %s %.1f", a[2], per[k] / n) }
    print "  server:" srv; print "  driver:" drv
  }' "$trace"
