#!/usr/bin/env bash
# make demo: runs the bundled parser over its generated corpus three times, with plain fork+exec,
# with the fork server, and with snapshot reset held to the direct run (--reset auto), and prints
# the rates and speedups. Usage: scripts/demo.sh BUILD_DIR
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
echo "\$ forksrv --reset auto -i $corpus -- $target"
auto=$("$b/forksrv" --reset auto -i "$corpus" -- "$target" 2>&1 >/dev/null || true)
echo "$auto"
echo
p=$(rate "$plain")
s=$(rate "$served")
a=$(rate "$auto")
x() { awk -v s="$1" -v p="$p" 'BEGIN { printf "%.1fx", s / p }'; }
echo "plain fork+exec: $p execs/s   fork server: $s execs/s ($(x "$s"))   --reset auto: $a execs/s ($(x "$a"))"
echo "crashing inputs and the target's stderr for each: $b/demo-crashes/"
