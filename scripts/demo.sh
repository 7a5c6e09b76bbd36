#!/usr/bin/env bash
# make demo: runs the bundled parser over its generated corpus twice, with plain fork+exec and
# with the fork server, and prints both rates and the speedup. Usage: scripts/demo.sh BUILD_DIR
set -eu
b=${1:-build}
corpus="$b/examples/corpus"
target="$b/examples/parser"
[ -x "$b/forksrv" ] && [ -x "$target" ] && [ -d "$corpus" ] || { echo "demo: run 'make demo'" >&2; exit 2; }

rate() { sed -n 's/.* (\([0-9]*\) execs\/s.*/\1/p' <<<"$1"; }

echo "forksrv demo: $(ls "$corpus" | wc -l) inputs of $target, each run once"
echo
echo "\$ forksrv --no-server -i $corpus -- $target"
plain=$("$b/forksrv" --no-server -i "$corpus" -- "$target" 2>&1 >/dev/null || true)
echo "$plain"
echo
echo "\$ forksrv --crashes $b/demo-crashes -i $corpus -- $target"
served=$("$b/forksrv" --crashes "$b/demo-crashes" -i "$corpus" -- "$target" 2>&1 || true)
echo "$served"
echo
p=$(rate "$plain")
s=$(rate "$served")
echo "plain fork+exec: $p execs/s   fork server: $s execs/s   speedup: $(awk -v s="$s" -v p="$p" 'BEGIN { printf "%.1fx", s / p }')"
echo "crashing inputs and the target's stderr for each: $b/demo-crashes/"
