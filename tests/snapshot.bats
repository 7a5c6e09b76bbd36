#!/usr/bin/env bats
# --reset snapshot: the child forked at the fork point is put back to it in place after each
# execution, and runs the next input; whatever cannot be put back ends that child, and the next
# input gets a fresh fork, so that every outcome stays the direct run's.
load helpers

FRESH="global 0 heap 0 buffer 0 brk 0 mmap 0 fd +0 handler default shared 0 early 0 sealed 0"

# The pids of the --json lines in $output, space-separated.
pids() { grep -o '"pid":[0-9]*' <<<"$output" | cut -d: -f2 | tr '\n' ' '; }

@test "every execution finds the state of the fork point: global, heap, static buffer, brk, mmap, fds, signals" {
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --show-output -n 4 -- "$T/reset"
  [ "${#lines[@]}" -eq 4 ]
  for line in "${lines[@]}"; do
    [ "$line" = "$FRESH" ]
  done
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --json -n 4 -- "$T/reset"
  read -r -a p <<<"$(pids)"
  [ "${#p[@]}" -eq 4 ]
  [ "${p[0]}" = "${p[3]}" ]
}

@test "without address randomisation, where the store cannot go above the stack, the child is still put back" {
  command -v setarch >/dev/null || skip "setarch: not installed"
  run -0 --separate-stderr setarch -R "$FORKSRV" --reset snapshot --json --show-output -n 3 -- "$T/reset"
  [ "${lines[0]}" = "$FRESH" ]
  [ "${lines[1]}" = "$FRESH" ]
  [ "${lines[2]}" = "$FRESH" ]
  read -r -a p <<<"$(pids)"
  [ "${#p[@]}" -eq 3 ]
  [ "${p[0]}" = "${p[2]}" ]
}

@test "persistent mode lets that state leak from one input to the next; snapshot reset does not" {
  export LOOP=1
  run -0 --separate-stderr "$FORKSRV" --show-output -n 3 -- "$T/reset"
  [ "${lines[0]}" = "$FRESH" ]
  [ "${lines[1]}" = "global 1 heap 1 buffer 1 brk 0 mmap 0 fd +1 handler set shared 0 early 1 sealed 0" ]
  [ "${lines[2]}" = "global 2 heap 2 buffer 2 brk 0 mmap 0 fd +2 handler set shared 0 early 2 sealed 0" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --show-output -n 3 -- "$T/reset"
  [ "${lines[0]}" = "$FRESH" ]
  [ "${lines[1]}" = "$FRESH" ]
  [ "${lines[2]}" = "$FRESH" ]
}

@test "outcomes under snapshot reset are the direct run's: exit codes, _exit, a raw exit_group, crash, timeout" {
  same_as_plain --reset snapshot -t 300 -i "$(corpus 0 7 _exit raw segv 0 hang 0 thread child exec 0)" -- "$T/reset"
  [ "$status" -eq 1 ]
  [[ "${lines[1]}" == *'"result":"exited","exit_code":7'* ]]
  [[ "${lines[2]}" == *'"result":"exited","exit_code":5'* ]]
  [[ "${lines[3]}" == *'"result":"exited","exit_code":6'* ]]
  [[ "${lines[4]}" == *'"result":"crashed","signal":"SIGSEGV"'* ]]
  [[ "${lines[6]}" == *'"result":"timeout"'* ]]
}

@test "stdout and stderr under snapshot reset are plain fork+exec's (--verify 1), stdio flushed at exit but not at _exit" {
  run -1 --separate-stderr "$FORKSRV" --reset snapshot --verify 1 -t 300 -i "$(corpus 0 7 _exit raw segv 0 thread child exec 0)" -- "$T/reset"
  [[ "$stderr" != *MISMATCH* ]]
  # The thread and the child input each said why their child was discarded.
  [ "${#stderr_lines[@]}" -eq 3 ]
  [[ "${stderr_lines[2]}" == "forksrv: 10 executions in "*": 9 exited (3 non-zero), 1 crashed, 0 timed out, 10 verified, 0 mismatches" ]]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --show-output -i "$(input a _exit)" -i "$(input b 7)" -i "$(input c 0)" -- "$T/reset"
  # stdout is a pipe, so fully buffered: what the _exit input printed is lost, as it is run directly.
  [ "$output" = "$FRESH"$'\n'"$FRESH" ]
}

@test "a thread, a live child, an exec, an exit_group, a crash, a timeout, no_new_privs end the child; _exit and exit do not" {
  run -1 --separate-stderr "$FORKSRV" --reset snapshot --json -t 300 -i "$(corpus 0 thread 0 child 0 exec 0 raw 0 segv 0 hang 0 _exit 0 7 0 nnp 0)" -- "$T/reset"
  read -r -a p <<<"$(pids)"
  # 0 thread | 0 child | 0 exec | 0 raw | 0 segv | 0 hang | 0 _exit 0 7 0 nnp | 0
  [ "${p[0]}" = "${p[1]}" ]
  [ "${p[1]}" != "${p[2]}" ]
  [ "${p[3]}" != "${p[4]}" ]
  [ "${p[5]}" != "${p[6]}" ]
  [ "${p[7]}" != "${p[8]}" ]
  [ "${p[9]}" != "${p[10]}" ]
  [ "${p[11]}" != "${p[12]}" ]
  [ "${p[12]}" = "${p[17]}" ]
  [ "${p[17]}" != "${p[18]}" ]
  # Each reason said once, when first met; an exec, an exit_group or a crash leaves nothing to discard.
  [ "${stderr_lines[0]}" = "forksrv: warning: snapshot reset discarded its child after an input that left a thread running; the input after it gets a fresh fork" ]
  [ "${stderr_lines[1]}" = "forksrv: warning: snapshot reset discarded its child after an input that left a child process running; the input after it gets a fresh fork" ]
  [ "${stderr_lines[2]}" = "forksrv: warning: snapshot reset discarded its child after an input that changed its uids, gids, session, process group or seccomp filter; the input after it gets a fresh fork" ]
  [ "${#stderr_lines[@]}" -eq 4 ]
  assert_no_leftovers
}

@test "a read-only mapping written or MAP_SHARED memory written ends the child (the shared write stays, as forking keeps it); a mapping removed is made anew, a changed protection put back, a new mapping unmapped" {
  local in
  in=$(corpus 0 unmap 0 shared 0 0 protect 0 leak 0 patch 0 rawpatch 0)
  run -0 --separate-stderr "$FORKSRV" --start main --show-output -i "$in" -- "$T/reset"
  local forked=$output
  [ "${lines[5]}" = "global 0 heap 0 buffer 0 brk 0 mmap 0 fd +0 handler default shared 1 early 0 sealed 0" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --show-output -i "$in" -- "$T/reset"
  [ "$output" = "$forked" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --json -i "$in" -- "$T/reset"
  read -r -a p <<<"$(pids)"
  # 0 unmap 0 shared | 0 0 protect 0 leak 0 patch | 0 rawpatch | 0: a mapping unmapped is made anew,
  # a protection changed is put back, a mapping left unmapped
  [ "${p[0]}" = "${p[1]}" ]
  [ "${p[1]}" = "${p[2]}" ]
  [ "${p[2]}" = "${p[3]}" ]
  [ "${p[3]}" != "${p[4]}" ]
  [ "${p[4]}" = "${p[10]}" ]
  [ "${p[10]}" != "${p[11]}" ]
  [ "${p[12]}" != "${p[13]}" ]
  [ "${stderr_lines[0]}" = "forksrv: warning: snapshot reset discarded its child after an input that wrote to shared memory, or mapped a file shared and writable; the input after it gets a fresh fork" ]
  [ "${stderr_lines[1]}" = "forksrv: warning: snapshot reset discarded its child after an input that changed memory beyond putting back (unmapped a mapping of the fork point that cannot be made anew, or wrote one that was read-only there); the input after it gets a fresh fork" ]
  [ "${#stderr_lines[@]}" -eq 3 ]
}

@test "a file's mapping of the fork point unmapped ends the child, which cannot map it anew from a file that may have changed: the next input gets a fresh fork" {
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --json -i "$(corpus 0 unmapfile 0)" -- "$T/reset"
  read -r -a p <<<"$(pids)"
  [ "${p[0]}" = "${p[1]}" ]
  [ "${p[1]}" != "${p[2]}" ]
  [ "${stderr_lines[0]}" = "forksrv: warning: snapshot reset discarded its child after an input that changed memory beyond putting back (unmapped a mapping of the fork point that cannot be made anew, or wrote one that was read-only there); the input after it gets a fresh fork" ]
}

@test "a target with a 1 GiB heap is put back in place: every written page is found fresh the next time" {
  export HEAP_MB=1024
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --show-output -t 10000 -i "$(corpus 'heap 100' 'heap 100' 'heap 3000')" -- "$T/reset"
  [ "${lines[1]}" = "heap pages written 100, found dirty 0" ]
  [ "${lines[3]}" = "heap pages written 100, found dirty 0" ]
  [ "${lines[5]}" = "heap pages written 3000, found dirty 0" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --json -t 10000 -i "$BATS_TEST_TMPDIR/corpus" -- "$T/reset"
  read -r -a p <<<"$(pids)"
  [ "${p[0]}" = "${p[2]}" ]
}

@test "the harness main under snapshot reset: outcomes as plain, and one child for inputs that end well" {
  export COUNTER="$BATS_TEST_TMPDIR/counter"
  run -1 --separate-stderr "$FORKSRV" --reset snapshot --json -t 300 -i "$(corpus 0 0 segv 0 7 0 0)" -- "$T/harness"
  [ "$(wc -l <"$COUNTER")" -eq 1 ]
  read -r -a p <<<"$(pids)"
  # 0 0 segv | 0 7 0 0
  [ "${p[0]}" = "${p[2]}" ]
  [ "${p[2]}" != "${p[3]}" ]
  [ "${p[3]}" = "${p[6]}" ]
  same_as_plain_harness --reset snapshot -t 300 -i "$BATS_TEST_TMPDIR/corpus" -- "$T/harness"
}

@test "a static target cannot be put back: one warning, and every input gets a fresh fork" {
  run -0 --separate-stderr "$FORKSRV" --reset snapshot -n 2 -- "$T/static_fsrv"
  [ "${stderr%%$'\n'*}" = "forksrv: warning: snapshot reset needs a dynamically linked glibc target: each input gets a fresh fork" ]
  run -0 "$FORKSRV" check --reset snapshot -- "$T/static_fsrv"
  [ "${lines[5]}" = "reset         fork: snapshot reset needs a dynamically linked glibc target" ]
  run -0 "$FORKSRV" check --reset snapshot -- "$T/reset"
  [ "${lines[5]}" = "reset         snapshot: each child is put back to its fork point in place after an input" ]
}

@test "--reset takes fork, snapshot or auto" {
  run -2 --separate-stderr "$FORKSRV" --reset none -- "$T/reset"
  [ "$stderr" = "forksrv: --reset is 'fork', 'snapshot' or 'auto', not 'none'"$'\n'"Try 'forksrv --help'." ]
}

@test "exit handlers registered before the preload's start (a library's constructor, .preinit_array) run at every execution's end, as run directly" {
  local in=$(corpus 0 5 _exit 0) start expected
  expected=$(for f in "$in"/*; do "$T/exit_handlers" <"$f"; done)
  [[ "$expected" == *"library on_exit handler, status 5"$'\n'"preinit atexit handler"* ]]
  for start in early main; do
    run -0 --separate-stderr "$FORKSRV" --reset snapshot --start "$start" --show-output -i "$in" -- "$T/exit_handlers"
    [ "$output" = "$expected" ]
    run -0 --separate-stderr "$FORKSRV" --reset snapshot --start "$start" --json -i "$in" -- "$T/exit_handlers"
    read -r -a p <<<"$(pids)"
    [ "${p[0]}" = "${p[1]}" ]
    [ "${p[1]}" = "${p[2]}" ]
  done
}

@test "with the server linked in (libforksrv.a), exit handlers a library registers straight with libc run at every execution's end too" {
  local in=$(corpus 0 5 _exit 0) expected
  expected=$(for f in "$in"/*; do "$T/exit_handlers_fsrv" <"$f"; done)
  [[ "$expected" == *"preinit atexit handler"$'\n'"library atexit handler"$'\n'"library on_exit handler, status 5"* ]]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --show-output -i "$in" -- "$T/exit_handlers_fsrv"
  [ "$output" = "$expected" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --json -i "$in" -- "$T/exit_handlers_fsrv"
  read -r -a p <<<"$(pids)"
  [ "${p[0]}" = "${p[1]}" ]
  [ "${p[1]}" = "${p[2]}" ]
}
