#!/usr/bin/env bats
# `forksrv check`: one start each way, and the lines a user needs to trust the set-up.
load helpers

@test "check on a dynamic target: what it is, where the server started, and the first input's outcome both ways" {
  run -0 "$FORKSRV" check -- "$T/exit_code"
  [ "${lines[0]}" = "target        $T/exit_code: dynamic ELF, PIE, not setuid" ]
  [[ "${lines[1]}" =~ ^plain\ exec\ +[0-9.]+\ ms\ from\ fork\+exec\ to\ exit,\ on\ the\ empty\ input:\ exited\ 0$ ]]
  [[ "${lines[2]}" =~ ^fork\ server\ +pid\ [0-9]+,\ protocol\ 5,\ started\ at\ entry$ ]]
  [ "${lines[3]}" = "threads       one at the fork point" ]
  [ "${lines[4]}" = "binding       once, in the server, before the first fork (LD_BIND_NOW=1 for the server only)" ]
  [[ "${lines[5]}" =~ ^start-up\ +[0-9.]+\ ms\ to\ the\ handshake$ ]]
  [ "${lines[7]}" = "lifecycle     fork: a fresh child for each input" ]
  [ "${lines[8]}" = "ok: the fork server serves this target" ]
  assert_no_leftovers
}

@test "check and -v say which lifecycle ran: a fresh fork, persistent (a harness main's default), or snapshot reset" {
  run -0 "$FORKSRV" check -- "$T/harness"
  [ "${lines[7]}" = "lifecycle     persistent: one child runs input after input (forksrv_loop(), or the harness main's 1000 per child), not put back between them" ]
  run -0 "$FORKSRV" check --reset snapshot -- "$T/harness"
  [ "${lines[8]}" = "lifecycle     snapshot reset: one child runs input after input, put back after each" ]
  run -0 --separate-stderr "$FORKSRV" -v -n 3 -- "$T/harness"
  [ "${stderr_lines[-1]}" = "forksrv: lifecycle: persistent: 3 inputs in 1 child (forksrv_loop(), or the harness main's 1000 per child), not put back between them" ]
  run -0 --separate-stderr "$FORKSRV" -v --reset snapshot -n 3 -- "$T/harness"
  [ "${stderr_lines[-1]}" = "forksrv: lifecycle: snapshot reset: 3 inputs in 1 child, put back to the fork point after each" ]
  run -0 --separate-stderr "$FORKSRV" -v -n 3 -- "$T/exit_code"
  [ "${stderr_lines[-1]}" = "forksrv: lifecycle: fork: a fresh child for each input" ]
}

@test "check --start main on a target with threads says so" {
  run -0 "$FORKSRV" check --start main -- "$T/threads"
  [[ "${lines[2]}" == *"started at main" ]]
  [ "${lines[3]}" = "threads       more than one at the fork point: children keep only the forking one" ]
}

@test "check on a static target without libforksrv.a names why no server started, and exits 2" {
  run -2 "$FORKSRV" check -- "$T/static_plain"
  [ "${lines[0]}" = "target        $T/static_plain: static ELF, not setuid" ]
  [ "${lines[2]}" = "fork server   not started: target exited before the handshake (exit code 0): no fork server in it: it is statically linked, so LD_PRELOAD cannot reach it (link it with libforksrv.a)" ]
}

@test "check on a static target linked with libforksrv.a, and on a setuid copy" {
  run -0 "$FORKSRV" check -- "$T/static_fsrv"
  [[ "${lines[0]}" == *"static ELF, not setuid" ]]
  [[ "${lines[2]}" == *"started at preinit" ]]
  cp "$T/exit_code" "$BATS_TEST_TMPDIR/suid"
  chmod u+s "$BATS_TEST_TMPDIR/suid"
  run "$FORKSRV" check -- "$BATS_TEST_TMPDIR/suid"
  [[ "${lines[0]}" == *"dynamic ELF, PIE, setuid" ]]
}

@test "check reports a mismatch between the server's outcome and plain fork+exec's with exit status 1" {
  export RIGGED="$BATS_TEST_TMPDIR/pid"
  run -0 "$FORKSRV" check -- "$T/rigged"
  run -1 "$FORKSRV" check --start main -- "$T/rigged"
  [ "${lines[6]}" = "${lines[6]%%:*}: exited 1; by plain fork+exec: exited 0" ]
  [ "${lines[7]}" = "lifecycle     fork: a fresh child for each input" ]
  [ "${lines[8]}" = "MISMATCH: the outcomes differ" ]
}

@test "check --reset snapshot runs the input twice more in one child, and calls a change a MISMATCH (the raw mprotect of a constant it cannot see)" {
  run -0 "$FORKSRV" check --reset snapshot -- "$T/exit_code"
  [ "${lines[9]}" = "again         the input run twice more in the same child: the same outcome and output" ]
  [ "${lines[10]}" = "ok: the fork server serves this target" ]
  run -1 "$FORKSRV" check --reset snapshot -- "$T/rodata_patch"
  [ "${lines[9]}" = "again         the input run again in the same child: its outcome or output changed" ]
  [ "${lines[10]}" = "MISMATCH: under snapshot reset state leaks from one input to the next (--reset fork avoids it)" ]
  run -0 "$FORKSRV" check -- "$T/rodata_patch"
  [ "${lines[8]}" = "ok: the fork server serves this target" ]
}

@test "check --reset snapshot says why a child was discarded instead of put back" {
  run -0 "$FORKSRV" check --reset snapshot -- /bin/bash -c 'sleep 30 & exit 0'
  [ "${lines[9]}" = "again         the input run again, in a fresh child: snapshot reset discarded its child after an input that left a child process running" ]
  [ "${lines[10]}" = "ok: the fork server serves this target" ]
  assert_no_leftovers
}
