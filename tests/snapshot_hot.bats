#!/usr/bin/env bats
# Snapshot reset's hot set: pages two executions in a row wrote stay writable after the put-back, so
# that the next execution writes them without a fault, and are copied back after every execution
# whether it wrote them or not; every 32nd put-back protects them all again. Whatever pages an input writes,
# drops or unmaps, the next input finds each page as a direct run finds it (the hot target checks
# 1,280 pages of four kinds and prints "pristine" or what changed), under fork and under snapshot.
load helpers

# hot_run KEPT ITEM...: the hot target over a corpus of ITEMs at --start main, directly, forked and
# under snapshot reset: the same output (a "pristine" per input) and outcomes each way; KEPT 1: one
# snapshot child ran them all.
hot_run() {
  local kept=$1 dir expected children
  shift
  dir=$(corpus "$@")
  expected=$(for in in "$dir"/*; do "$T/hot" <"$in"; done)
  [ "$expected" = "$(printf 'pristine\n%.0s' "$@")" ]
  run -0 --separate-stderr "$FORKSRV" --start main --show-output -i "$dir" -- "$T/hot"
  [ "$output" = "$expected" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --show-output -i "$dir" -- "$T/hot"
  [ "$output" = "$expected" ]
  same_as_plain --reset snapshot --start main -i "$dir" -- "$T/hot"
  children=$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)
  if [ "$kept" = 1 ]; then
    [ "$children" -eq 1 ]
  else
    [ "$children" -gt 1 ]
  fi
}

@test "a page written by every input, and one written only every few, is the fork point's for each input, over two prunings" {
  local items=() i
  for i in $(seq 0 69); do
    if [ $((i % 5)) -eq 0 ]; then items+=("w1 w7"); else items+=("w1"); fi
  done
  hot_run 1 "${items[@]}"
}

@test "pages written every other input, and pages each input writes only once, are the fork point's for each input" {
  hot_run 1 w2 w3 w2 w3 w2 w3 w2 "w10 w2" "w11 w3" "w12 w2" "w13 w3" ""
}

@test "a page one input writes is the fork point's for the inputs that only read it after" {
  hot_run 1 w3 "" "" w3 w4 "" ""
}

@test "more pages written than the hot set holds are all put back" {
  local all
  all=$(printf 'w%d ' $(seq 0 319))
  hot_run 1 "$all" "$all" "" "$all" ""
}

@test "a hot page dropped with MADV_DONTNEED gets the fork point's contents back" {
  hot_run 1 w5 w5 "w5 d5" "" "d5" ""
}

@test "pages the fork point had written, dropped with MADV_DONTNEED by an input that did not write them, are the fork point's again: .data does not read the file anew" {
  hot_run 1 d5 "" d5 d6 "" "d7 w8 d8" ""
}

@test "a hot page mapped anew in place is made as the fork point had it" {
  hot_run 1 w9 w9 "u9 r9" "" w9 ""
}

@test "a hot page unmapped is made anew with the fork point's contents, in the same child" {
  hot_run 1 w9 w9 u9 "" w9 ""
}

@test "a whole mapping of the fork point unmapped, hot pages and all, is made anew with its contents, in the same child" {
  hot_run 1 w9 w9 "$(printf 'u%d ' $(seq 0 319))" "" w9 ""
}

@test "a page unmapped from a small mapping, whose contents the snapshot keeps itself, is made anew with them" {
  hot_run 1 "v3 v0" "" v7 ""
}

@test "the same page unmapped by every input is made anew after each" {
  hot_run 1 u9 u9 u9 v2 v2 ""
}

@test "a page unmapped while brk grows by one page more than in the input before is still made anew" {
  hot_run 1 b5 "b6 u9" "" "b2 v1" "b3" ""
}
