#!/usr/bin/env bash
# The performance contract, measured side by side in one run: execs/s of the fork server against
# plain fork+exec (--no-server) on the demo parser over its corpus. Samples alternate between the
# two modes so that the machine's noise falls on both alike; medians are reported, and the ratio
# of the medians is the figure to quote. Usage: scripts/bench.sh [BUILD_DIR] [SAMPLES]
set -eu
b=${1:-build}
samples=${2:-5}
corpus="$b/examples/corpus"
target="$b/examples/parser"
[ -x "$b/forksrv" ] && [ -x "$target" ] && [ -d "$corpus" ] || { echo "bench: run 'make bench'" >&2; exit 2; }

rate() { "$b/forksrv" "$@" -i "$corpus" -- "$target" 2>&1 >/dev/null | sed -n 's/.* (\([0-9]*\) execs\/s.*/\1/p'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

server=() plain=()
for i in $(seq "$samples"); do
  server+=("$(rate)")
  plain+=("$(rate --no-server)")
done
ms=$(printf '%s\n' "${server[@]}" | median)
mp=$(printf '%s\n' "${plain[@]}" | median)
inputs=$(ls "$corpus" | wc -l)
echo "forksrv bench: $target, $inputs inputs per sample, $samples samples each, $(nproc) cores, $(uname -r)"
printf '%-24s %12s   %s\n' mode "median/s" samples
printf '%-24s %12s   %s\n' "fork server" "$ms" "${server[*]}"
printf '%-24s %12s   %s\n' "fork+exec (--no-server)" "$mp" "${plain[*]}"
awk -v s="$ms" -v p="$mp" 'BEGIN { printf "speedup: %.2fx\n", s / p }'
