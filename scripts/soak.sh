#!/usr/bin/env bash
# Soak: many executions under one driver, nothing may grow and nothing may be lost. Part 1 runs N
# executions of a mixed-outcome corpus, part 2 N/10 where every 100th input hangs into a 100 ms
# timeout (long enough that no quick input of a busy, sanitized run is taken for a hang); each part
# samples the driver's and the server's fds and RSS at every tenth of it, and must tally as its corpus.
# Usage: scripts/soak.sh [BUILD_DIR] [N]   (default N: 1000000; CI runs 20000; N a multiple of 1000)
set -eu
b=$(cd "${1:-build}" && pwd)
n=${2:-1000000}
target="$b/tests/persistent" # with LOOP_N=1: one input per fork, numbers exit, segv/abort crash, hang hangs
work=$(mktemp -d "${TMPDIR:-/tmp}/forksrv-soak.XXXXXX")
trap 'rm -rf "$work"' EXIT
export LOOP_N=1

mkdir "$work/mixed" "$work/hangs"
i=0
for x in 0 7 segv abort 0 255 0 3 ok 1; do printf '%s' "$x" >"$work/mixed/$((i++))"; done
for i in $(seq 100); do printf 0 >"$work/hangs/$(printf %03d "$i")"; done
printf hang >"$work/hangs/050"

# soak NAME TOTAL TIMEOUT_MS EXPECTED_TALLY INPUT_OPTIONS...
soak() {
  local name=$1 total=$2 timeout=$3 expected=$4 step
  shift 4
  step=$((total / 10))
  mkfifo "$work/$name.out"
  "$b/forksrv" --json -q -t "$timeout" "$@" -- "$target" >"$work/$name.out" &
  local driver=$! server=""
  exec 3<"$work/$name.out"
  for _ in $(seq 200); do
    # The driver's other child is the janitor of its run directory.
    server=$(pgrep -P "$driver" -f "^$target" | head -n 1)
    [ -n "$server" ] && break
    sleep 0.05
  done
  # Count outcomes as they stream by; at every tenth, sample both processes.
  awk -v step="$step" -v total="$total" -v driver="$driver" -v server="$server" -v name="$name" '
    { if ($0 ~ /"result":"exited","exit_code":0,/) ok++; else if ($0 ~ /"result":"exited"/) nonzero++;
      else if ($0 ~ /"result":"crashed"/) crashed++; else if ($0 ~ /"result":"timeout"/) timeout++; else other++ }
    NR % step == 0 && NR < total {
      cmd = "echo $(ls /proc/" driver "/fd | wc -l) $(awk \"/^VmRSS:/ { print \\$2 }\" /proc/" driver "/status) $(ls /proc/" server "/fd | wc -l) $(awk \"/^VmRSS:/ { print \\$2 }\" /proc/" server "/status)"
      cmd | getline s; close(cmd); print name, NR, s > "/dev/stderr"
    }
    END { printf "%d exited 0, %d exited non-zero, %d crashed, %d timed out, %d other\n", ok, nonzero, crashed, timeout, other }
  ' <&3 >"$work/$name.tally" 2>"$work/$name.samples"
  exec 3<&-
  wait "$driver" || true
  local tally
  tally=$(cat "$work/$name.tally")
  echo "$name: $total executions: $tally"
  awk '{ printf "  at %8d: driver %s fds %s kB, server %s fds %s kB\n", $2, $3, $4, $5, $6 }' "$work/$name.samples"
  [ "$tally" = "$expected" ] || { echo "soak: $name: expected $expected" >&2; return 1; }
  # Nothing grows from the first sample to the last: the fds of each by at most one (the input file
  # the driver has open for a moment when a sample falls there), RSS by at most 256 kB.
  awk 'NR == 1 { f1 = $3; r1 = $4; f2 = $5; r2 = $6 } END {
         if ($3 > f1 + 1 || $5 > f2 + 1 || $4 - r1 > 256 || $6 - r2 > 256) { print "soak: growth between first and last sample" > "/dev/stderr"; exit 1 } }' \
    "$work/$name.samples"
}

r=$((n / 10))
soak mixed "$n" 1000 "$((4 * r)) exited 0, $((4 * r)) exited non-zero, $((2 * r)) crashed, 0 timed out, 0 other" \
  -n "$r" -i "$work/mixed"
# -n repeats an input back to back; naming the directory again and again interleaves the hang.
again=()
for _ in $(seq $((n / 1000))); do again+=(-i "$work/hangs"); done
soak timeouts $((n / 10)) 100 "$((99 * n / 1000)) exited 0, 0 exited non-zero, 0 crashed, $((n / 1000)) timed out, 0 other" \
  "${again[@]}"
echo "soak: passed"
