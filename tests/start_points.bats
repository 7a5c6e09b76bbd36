#!/usr/bin/env bats
# Where the server starts: early (the program's entry with the preload, after every library's
# constructor and before the program's own; or .preinit_array), at main (after every constructor, no
# source change), or where the target calls forksrv_start(). The later the start,
# the less each execution repeats; the outcomes stay those of plain fork+exec.
load helpers

codes() {
  local args=() c
  for c in "$@"; do args+=(-i "$(input "c$c" "$c")"); done
  printf '%s\n' "${args[@]}"
}

@test "started early, at the program's entry, its expensive constructor runs in every execution" {
  export COUNTER="$BATS_TEST_TMPDIR/counter"
  run -0 --separate-stderr "$FORKSRV" -v -n 4 -- "$T/heavy_init"
  [[ "$stderr" == *"started at entry"* ]]
  [ "$(wc -l <"$COUNTER")" -eq 4 ]
}

@test "started at the entry, a program's own initialisers run in every child, in their order: DT_INIT, then its constructors" {
  run -0 --separate-stderr "$FORKSRV" -v -n 2 -i "$(input a 5)" -- "$T/init_order"
  [[ "$stderr" == *"started at entry"* ]]
  same_as_plain -i "$(input b 5)" -i "$(input c 0)" -- "$T/init_order"
  [[ "$output" == *'"exit_code":5'*'"exit_code":0'* ]]
}

@test "a program linked before glibc 2.34, whose _start hands libc an init function, runs it in every child" {
  run -0 --separate-stderr "$FORKSRV" -v -n 2 -i "$(input a 5)" -- "$T/legacy_init"
  [[ "$stderr" == *"started at entry"* ]]
  same_as_plain -i "$(input b 5)" -i "$(input c 0)" -- "$T/legacy_init"
  [[ "$output" == *'"exit_code":5'*'"exit_code":0'* ]]
}

@test "under an auditor (LD_AUDIT) its la_preinit still comes between the program's constructors and main, in every execution" {
  export ORDER="$BATS_TEST_TMPDIR/order"
  local a b auditor="$T/libauditor.so"
  a=$(input a 0) b=$(input b 0)
  # The driver is audited too: its own la_preinit comes first, in both runs. (Only forksrv runs
  # audited: bats's `run --separate-stderr` would run an audited mktemp.)
  LD_AUDIT="$auditor" run -0 "$FORKSRV" --no-server -i "$a" -i "$b" -- "$T/audit_order"
  mv "$ORDER" "$ORDER.plain"
  LD_AUDIT="$auditor" run -0 "$FORKSRV" -v -i "$a" -i "$b" -- "$T/audit_order"
  [[ "$output" == *"started at entry"* ]]
  [ "$(tr '\n' ' ' <"$ORDER")" = "preinit ctor preinit main ctor preinit main " ]
  diff "$ORDER.plain" "$ORDER"
}

@test "a program with its own _start, which never reaches __libc_start_main, is served from the constructor" {
  run -0 --separate-stderr "$FORKSRV" -v -n 3 -i "$(input a 7)" -- "$T/own_start"
  [[ "$stderr" == *"started at constructor"* ]]
  [[ "$stderr" == *"3 executions"*"3 exited (3 non-zero)"* ]]
  same_as_plain -i "$(input b 7)" -i "$(input c 0)" -i "$(input d 255)" -- "$T/own_start"
  [[ "$output" == *'"exit_code":255'* ]]
}

@test "lazily bound, a program still starts its server at the entry: libc's start files reach it through a GOT entry the loader binds at once" {
  run -0 --separate-stderr "$FORKSRV" -v --lazy-binding -n 2 -- "$T/exit_code"
  [[ "$stderr" == *"started at entry"* ]]
}

@test "started at main, the constructor runs once for all executions, outcomes as plain" {
  export COUNTER="$BATS_TEST_TMPDIR/counter"
  run -0 --separate-stderr "$FORKSRV" -v --start main -n 4 -- "$T/heavy_init"
  [[ "$stderr" == *"started at main"* ]]
  [ "$(wc -l <"$COUNTER")" -eq 1 ]
  same_as_plain --start main -i "$(input a 0)" -i "$(input b 9)" -i "$(input c 255)" -- "$T/heavy_init"
  [[ "$output" == *'"exit_code":255'* ]]
}

@test "started at main, a program that retitles itself in a constructor, writing over its environment's strings, is served, outcomes as plain" {
  run -0 --separate-stderr "$FORKSRV" -v --start main -n 2 -- "$T/retitle"
  [[ "$stderr" == *"started at main"* ]]
  same_as_plain --start main -i "$(input a 0)" -i "$(input b 7)" -- "$T/retitle"
  [[ "$output" == *'"exit_code":7'* ]]
}

@test "started at main, a program that sets a variable in a constructor, which moves its environment, keeps none of the driver's variables, outcomes as plain" {
  RETITLE_BY=setenv same_as_plain --start main -i "$(input a 0)" -i "$(input b 7)" -- "$T/retitle"
  [[ "$output" == *'"exit_code":7'* ]]
}

@test "started at main, a program whose environment is an array in read-only memory is served, outcomes as plain" {
  RETITLE_BY=fixed same_as_plain --start main -i "$(input a 0)" -i "$(input b 7)" -- "$T/retitle"
  [[ "$output" == *'"exit_code":7'* ]]
}

@test "started at main, a C++ target's static initialisation runs once, outcomes as plain" {
  export COUNTER="$BATS_TEST_TMPDIR/counter"
  run -0 --separate-stderr "$FORKSRV" --start main -n 3 -- "$T/cxx_static"
  [ "$(wc -l <"$COUNTER")" -eq 1 ]
  [ "$(head -n 1 "$COUNTER")" = "static init" ]
  same_as_plain --start main -i "$(input a 4)" -i "$(input b 0)" -- "$T/cxx_static"
  [[ "$output" == *'"exit_code":4'* ]]
}

@test "started at main, crashes and timeouts are reported as plain" {
  same_as_plain --start main -t 200 -i "$(input a segv)" -i "$(input b abort)" -i "$(input c ok)" -- "$T/crash"
  [[ "$output" == *'"signal":"SIGSEGV"'* ]]
  same_as_plain --start main -t 200 -i "$(input d hang)" -- "$T/hang"
  [[ "$output" == *'"result":"timeout"'* ]]
  assert_no_leftovers
}

@test "a target calling forksrv_start() is found and waited for: its set-up runs once" {
  export COUNTER="$BATS_TEST_TMPDIR/counter"
  run -0 --separate-stderr "$FORKSRV" -v --show-output -n 3 -i "$(input a 0)" -- "$T/deferred"
  [[ "$stderr" == *"started at deferred"* ]]
  [ "$(grep -c '^forksrv_start: 1$' <<<"$stderr")" -eq 3 ]
  [ "$(wc -l <"$COUNTER")" -eq 1 ]
  same_as_plain -i "$(input b 7)" -i "$(input c 0)" -- "$T/deferred"
}

@test "a static target calling forksrv_start() with libforksrv.a linked in is waited for too" {
  export COUNTER="$BATS_TEST_TMPDIR/counter"
  run -0 --separate-stderr "$FORKSRV" -v -n 3 -- "$T/deferred_static"
  [[ "$stderr" == *"started at deferred"* ]]
  [ "$(wc -l <"$COUNTER")" -eq 1 ]
  same_as_plain -i "$(input b 7)" -- "$T/deferred_static"
}

@test "without a driver, forksrv_start() returns 0 and the target runs as it would" {
  run -7 --separate-stderr "$T/deferred" < <(printf 7)
  [ "$stderr" = "forksrv_start: 0" ]
  LD_PRELOAD="$B/libforksrv.so" run -7 --separate-stderr "$T/deferred" < <(printf 7)
  [ "$stderr" = "forksrv_start: 0" ]
  run -7 --separate-stderr "$T/deferred_static" < <(printf 7)
  [ "$stderr" = "forksrv_start: 0" ]
}

@test "a server starting where threads already run warns once, naming the risk" {
  run -0 --separate-stderr "$FORKSRV" --start main -n 3 -- "$T/threads"
  [ "$stderr_lines" = "forksrv: warning: threads are running where the fork server starts; each child keeps only the thread that forked, so inputs may misbehave (start the server before threads are created)" ]
  [ "$(grep -c warning <<<"$stderr")" -eq 1 ]
  # Started early, before the target's constructor made its thread: no warning.
  run -0 --separate-stderr "$FORKSRV" -n 3 -- "$T/threads"
  [[ "$stderr" != *warning* ]]
}

@test "--start takes 'early', 'main' or 'input' only" {
  run -2 --separate-stderr "$FORKSRV" --start later -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --start is 'early', 'main' or 'input', not 'later'" ]
}

@test "preloaded without forksrv's variables, the __libc_start_main of the preload changes nothing" {
  run --separate-stderr "$T/heavy_init" < <(printf 5)
  local plain=$status
  LD_PRELOAD="$B/libforksrv.so" run --separate-stderr "$T/heavy_init" < <(printf 5)
  [ "$status" -eq "$plain" ]
  [ "$status" -eq 5 ]
}
