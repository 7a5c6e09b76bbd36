#!/usr/bin/env bash
# The performance contract, measured side by side in one run. Samples alternate between the modes
# compared, so that the machine's noise falls on all of them alike; medians are reported, and the
# ratios of the medians are the figures to quote.
#   1. forksrv against plain fork+exec (--no-server): the demo parser over its corpus, pinned to one
#      core (the default) and not.
#   2. start points on a target whose set-up takes 5 ms: fork+exec, the default (constructor) start,
#      --start main, and forksrv_start() called by the target after its set-up.
#      And persistent mode on a trivial target: forksrv_loop(1000) against one input per fork.
#   3. afl-fuzz -n on a trivial target: its fork+exec "fauxserver", against libforksrv.so
#      serving it (AFL_PRELOAD + AFL_DUMB_FORKSRV), against AFL++'s own compiled-in fork server
#      (afl-clang-fast build). Skipped when afl++ is not installed.
# Usage: scripts/bench.sh [BUILD_DIR] [SAMPLES]
set -eu
b=$(cd "${1:-build}" && pwd)
samples=${2:-5}
corpus="$b/examples/corpus"
parser="$b/examples/parser"
[ -x "$b/forksrv" ] && [ -x "$parser" ] && [ -d "$corpus" ] || { echo "bench: run 'make bench'" >&2; exit 2; }

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
row() { printf '%-34s %10s   %s\n' "$1" "$(printf '%s\n' $2 | median)" "$2"; }
ratio() { awk -v a="$(printf '%s\n' $2 | median)" -v b="$(printf '%s\n' $3 | median)" -v what="$1" 'BEGIN { printf "%-34s %9.2fx\n", what, a / b }'; }

echo "forksrv bench: $samples samples per mode, $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d)"
echo

cli_rate() { "$b/forksrv" "$@" -i "$corpus" -- "$parser" 2>&1 >/dev/null | sed -n 's/.* (\([0-9]*\) execs\/s.*/\1/p'; }
server="" unpinned="" plain=""
for i in $(seq "$samples"); do
  server="$server $(cli_rate)"
  unpinned="$unpinned $(cli_rate --no-pin)"
  plain="$plain $(cli_rate --no-server)"
done
echo "1. forksrv CLI, $(ls "$corpus" | wc -l) inputs of the demo parser     execs/s (median, samples)"
row "fork server (pinned, the default)" "$server"
row "fork server --no-pin" "$unpinned"
row "fork+exec (--no-server)" "$plain"
ratio "speedup" "$server" "$plain"
echo

start_rate() { INIT_MS=5 "$b/forksrv" "$@" 2>&1 >/dev/null | sed -n 's/.* (\([0-9]*\) execs\/s.*/\1/p'; }
plain="" early="" main="" deferred=""
for i in $(seq "$samples"); do
  plain="$plain $(start_rate --no-server -n 300 -- "$b/tests/heavy_init")"
  early="$early $(start_rate -n 300 -- "$b/tests/heavy_init")"
  main="$main $(start_rate --start main -n 3000 -- "$b/tests/heavy_init")"
  deferred="$deferred $(start_rate -n 3000 -- "$b/tests/deferred")"
done
echo "2. start points, a target with 5 ms of set-up        execs/s (median, samples)"
row "fork+exec (--no-server)" "$plain"
row "constructor (default)" "$early"
row "--start main" "$main"
row "forksrv_start() after set-up" "$deferred"
ratio "main / fork+exec" "$main" "$plain"
ratio "deferred / fork+exec" "$deferred" "$plain"
one="" loop=""
for i in $(seq "$samples"); do
  one="$one $(LOOP_N=1 start_rate -n 5000 -- "$b/tests/persistent")"
  loop="$loop $(LOOP_N=1000 start_rate -n 20000 -- "$b/tests/persistent")"
done
row "trivial target, fork per input" "$one"
row "trivial target, forksrv_loop(1000)" "$loop"
ratio "persistent / fork per input" "$loop" "$one"
echo

if ! command -v afl-fuzz >/dev/null || ! command -v afl-clang-fast >/dev/null; then
  echo "3. afl-fuzz: skipped (apt-get install afl++)"
  exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/forksrv-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/seeds"
printf 'hello' >"$work/seeds/a"
target="$b/tests/exit_code"
afl-clang-fast -O2 -o "$work/exit_code_afl" "$(dirname "$0")/../tests/targets/exit_code.c" 2>/dev/null
execs=30000
# execs/s of one whole afl-fuzz run of $execs executions (start-up included, the same for every
# mode). Usage: afl_rate TARGET [VAR=VALUE...] afl-fuzz [OPTIONS]
afl_rate() {
  local target=$1 t0 t1
  shift
  rm -rf "$work/out"
  t0=$(date +%s%N)
  env AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 "$@" -E "$execs" \
    -i "$work/seeds" -o "$work/out" -- "$target" >/dev/null 2>&1 </dev/null || { echo 0; return; }
  t1=$(date +%s%N)
  echo $((execs * 1000000000 / (t1 - t0)))
}
faux="" preload="" instr=""
for i in $(seq "$samples"); do
  faux="$faux $(afl_rate "$target" afl-fuzz -n)"
  preload="$preload $(afl_rate "$target" AFL_PRELOAD="$b/libforksrv.so" AFL_DUMB_FORKSRV=1 afl-fuzz -n)"
  instr="$instr $(afl_rate "$work/exit_code_afl" afl-fuzz)"
done
echo "3. afl-fuzz, $execs executions of a trivial target      execs/s (median, samples)"
row "afl-fuzz -n (fork+exec fauxserver)" "$faux"
row "afl-fuzz -n + libforksrv.so" "$preload"
row "afl-clang-fast build, own server" "$instr"
ratio "libforksrv.so / fauxserver" "$preload" "$faux"
ratio "libforksrv.so / compiled-in server" "$preload" "$instr"
