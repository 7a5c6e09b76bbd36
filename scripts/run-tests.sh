#!/usr/bin/env bash
# Runs the bats suite and ends with the line CI reads: "N passed, N failed" (bats itself ends with
# "N tests, N failures", which no CI parser counts). Arguments select .bats files; default all.
set -u
cd "$(dirname "$0")/.."
: "${FORKSRV_BUILD:=$PWD/build}"
export FORKSRV_BUILD
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/*.bats)
log=$(mktemp "${TMPDIR:-/tmp}/forksrv-tap.XXXXXX")
trap 'rm -f "$log"' EXIT
bats --tap "${files[@]}" | tee "$log"
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -n1)
# A test that never reported (bats died mid-file) counts as failed.
missing=$(( ${planned:-0} - passed - failed ))
[ "$missing" -gt 0 ] && failed=$((failed + missing))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
