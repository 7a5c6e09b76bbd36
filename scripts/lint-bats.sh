#!/usr/bin/env bash
# Flags the bats assertion that checks less than it says: inside a @test, a non-final line that
# joins a test with && ([ a ] && [ b ]) checks only b, since errexit ignores a failed left side of
# &&. Prints FILE:LINE: TEXT for each and exits 1 if any; a final line's && is kept as it is.
# Usage: scripts/lint-bats.sh FILE...
awk '
  function flush() { if (cand) { printf "%s:%d: %s\n", FILENAME, candline, candtext; bad = 1 } cand = 0 }
  /^@test .*\{[[:space:]]*$/ { intest = 1; cand = 0; next }
  intest && /^\}[[:space:]]*$/ { intest = 0; cand = 0; next }
  !intest { next }
  /^[[:space:]]*(#.*)?$/ { next }
  { flush() }
  # An assertion ([, [[ or test) joined by && outside quotes; not `a && skip/break/...`, not a || list.
  /^[[:space:]]*(\[\[? |test |! \[\[? )/ {
    bare = $0
    gsub(/"[^"]*"/, "", bare); gsub(/\047[^\047]*\047/, "", bare)
    if (bare ~ /&&/ && bare !~ /\|\|/ && bare !~ /&&[[:space:]]*(skip|break|continue|return|exit)/) {
      cand = 1; candline = FNR; candtext = $0; sub(/^[[:space:]]+/, "", candtext)
    }
  }
  END { exit bad }
' "$@"
