#!/usr/bin/env bats
# Snapshot reset's memory: what the child is put back to, and what it costs. Only pages that had
# contents at the fork point are write-protected, so a reservation (a sanitizer's shadow, a runtime's
# heap) gets no page tables it would not get under fork; pages an execution touches where the fork
# point had none are given back; a page an execution drops (MADV_DONTNEED) gets its contents back.
load helpers

# direct_stdout INPUT...: what the reset target prints run directly, once per input.
direct_stdout() {
  local in
  for in in "$@"; do "$T/reset" <"$in"; done
}

# The kB of a "VmPTE:" or "VmRSS:" line.
kb() { awk '{ print $2 }' <<<"$1"; }

@test "a 32 GiB reservation at the fork point, writable and not, gives the snapshot child the page tables of a fresh fork, within 1 MiB" {
  local a
  a=$(input a vmpte)
  export RESERVE_GB=32
  run -0 --separate-stderr page_tables_bounded 65536 "$FORKSRV" --start main --show-output -n 3 -i "$a" -- "$T/reset"
  local forked
  forked=$(kb "${lines[1]}")
  run -0 --separate-stderr page_tables_bounded 65536 "$FORKSRV" --reset snapshot --start main --show-output -n 3 -i "$a" -- "$T/reset"
  [ "${#lines[@]}" -eq 6 ]
  [ "$(kb "${lines[1]}")" -le $((forked + 1024)) ]
  [ "$(kb "${lines[3]}")" -le $((forked + 1024)) ]
  [ "$(kb "${lines[5]}")" -le $((forked + 1024)) ]
}

@test "pages an execution writes where the fork point had none are given back: the child's memory stays flat over 30 inputs" {
  local i dir="$BATS_TEST_TMPDIR/fresh"
  mkdir "$dir"
  for i in $(seq 10 39); do printf 'fresh %d' "$i" >"$dir/$i"; done
  export RESERVE_GB=1
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --show-output -i "$dir" -- "$T/reset"
  [ "${#lines[@]}" -eq 60 ]
  # Each input writes 1 MiB of its own: kept, they would add 29 MiB.
  [ "$(kb "${lines[59]}")" -le $(($(kb "${lines[3]}") + 256)) ]
}

@test "a page an execution drops with MADV_DONTNEED has its fork point's contents again: .data, a file's private mapping, anonymous memory, a large heap" {
  local a
  a=$(input a zap)
  export MAPS=2 HEAP_MB=4
  expected=$(direct_stdout "$a" "$a" "$a")
  [[ "$expected" == *"zap data 1->1 file 127->127 map 1->0 heap 1->0"* ]]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --show-output -n 3 -i "$a" -- "$T/reset"
  [ "$output" = "$expected" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --show-output -n 3 -i "$a" -- "$T/reset"
  [ "$output" = "$expected" ]
}

@test "each result's maxrss_kb is that execution's own peak: a MiB more for the input that writes a fresh MiB, not for the next" {
  export RESERVE_GB=1
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --json -i "$(input a 0)" -i "$(input b 'fresh 5')" -i "$(input c 0)" -- "$T/reset"
  local rss=($(grep -o '"maxrss_kb":[0-9]*' <<<"$output" | cut -d: -f2))
  [ "${#rss[@]}" -eq 3 ]
  [ "${rss[0]}" -gt 0 ]
  [ "${rss[1]}" -ge $((rss[0] + 900)) ]
  [ "${rss[2]}" -le $((rss[0] + 100)) ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --json -i "$(input a 0)" -i "$(input b 'fresh 5')" -i "$(input c 0)" -- "$T/reset"
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ]
}

@test "a target that forks on an 8 MiB stack of its own (as coroutine runtimes map theirs) is put back with its own frames: no false crash" {
  local dir expected
  dir=$(corpus 0 3 0 0)
  expected=$(for f in "$dir"/*; do "$T/own_stack" <"$f"; echo "exit $?"; done)
  [ "$(sort -u <<<"$expected" | tr '\n' ' ')" = "exit 0 exit 3 pristine 2000 " ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start input --show-output --json -i "$dir" -i "$dir" -- "$T/own_stack"
  [ "$(grep -c '^pristine 2000$' <<<"$output")" -eq 8 ]
  [ "$(grep -c '"result":"exited"' <<<"$output")" -eq 8 ]
  [ "$(grep -c '"exit_code":3' <<<"$output")" -eq 2 ]
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ]
}

@test "a private file mapping that runs past the file's end is put back: no false SIGBUS" {
  local dir
  dir=$(corpus 0 0 0)
  [ "$("$T/past_eof" <"$dir/10")" = "first byte as in the file" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --show-output --json -i "$dir" -- "$T/past_eof"
  [ "$(grep -c '^first byte as in the file$' <<<"$output")" -eq 3 ]
  [ "$(grep -c '"result":"exited","exit_code":0' <<<"$output")" -eq 3 ]
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ]
}

@test "a guard page at the fork point (MADV_GUARD_INSTALL), which no put-back can keep from seeming written, is not recorded: one warning, and every input runs as directly in a fresh fork" {
  run "$T/guard" </dev/null
  [ "$output" != "unsupported" ] || skip "no guard pages in this kernel"
  same_as_plain --reset snapshot --start main -i "$(input a 0)" -i "$(input b 5)" -i "$(input c 0)" -i "$(input d 0)" -- "$T/guard"
  [[ "$output" == *'"result":"exited","exit_code":5'* ]]
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 4 ]
  [ "${stderr_lines[0]}" = "forksrv: warning: snapshot reset could not record the state at the fork point: the target's mappings could not be tracked: Operation not supported; each input gets a fresh fork from now on" ]
}
