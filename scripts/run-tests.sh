#!/usr/bin/env bash
# Runs the bats suite and ends with the line CI reads: "N passed, N failed" (bats itself ends with
# "N tests, N failures", which no CI parser counts). Arguments select .bats files; default all, and
# then the snapshot reset files once more under a login shell's soft fd limit of 1024 (the machine's
# own may be far higher), as users run them.
set -u
cd "$(dirname "$0")/.."
: "${FORKSRV_BUILD:=$PWD/build}"
export FORKSRV_BUILD
files=("$@")
again=()
if [ ${#files[@]} -eq 0 ]; then
  files=(tests/*.bats)
  again=(tests/snapshot*.bats)
fi
log=$(mktemp "${TMPDIR:-/tmp}/forksrv-tap.XXXXXX")
trap 'rm -f "$log"' EXIT
bats --tap "${files[@]}" | tee "$log"
if [ ${#again[@]} -gt 0 ]; then
  echo "# again under ulimit -Sn 1024: ${again[*]}"
  (ulimit -Sn 1024 && bats --tap "${again[@]}") | tee -a "$log"
fi
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
# A test that never reported (bats died mid-file) counts as failed.
missing=$(( planned - passed - failed ))
[ "$missing" -gt 0 ] && failed=$((failed + missing))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
