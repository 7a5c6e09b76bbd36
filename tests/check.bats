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

@test "check -i measures every start point and reset mode on a sample of the inputs, each held to the direct run, and prints the fastest as the command line to use" {
  local dir
  dir=$(corpus 0 3 0 7)
  run -0 "$FORKSRV" check -i "$dir" -- "$T/exit_code"
  [ "${lines[9]}" = "sample        4 of the 4 inputs, run directly and twice over in each mode:" ]
  [[ "${lines[10]}" =~ ^mode\ +--start\ early\ --reset\ fork\ +started\ at\ entry,\ 4\ of\ 4\ as\ run\ directly,\ [0-9]+\ us\ per\ input$ ]]
  [[ "${lines[11]}" =~ ^mode\ +--start\ early\ --reset\ snapshot\ started\ at\ entry,\ 4\ of\ 4\ as\ run\ directly,\ [0-9]+\ us\ per\ input$ ]]
  [[ "${lines[12]}" =~ ^mode\ +--start\ main\ +--reset\ fork\ +started\ at\ main,\ 4\ of\ 4 ]]
  [[ "${lines[13]}" =~ ^mode\ +--start\ main\ +--reset\ snapshot\ started\ at\ main,\ 4\ of\ 4 ]]
  [[ "${lines[14]}" =~ ^mode\ +--start\ input\ --reset\ fork\ +started\ at\ (input|entry) ]]
  [[ "${lines[15]}" =~ ^mode\ +--start\ input\ --reset\ snapshot\ started\ at\ (input|entry) ]]
  [[ "${lines[16]}" =~ ^fastest\ +forksrv( --start (main|input))?( --reset snapshot)?\ -i\ $dir\ --\ $T/exit_code ]]
  [ "${#lines[@]}" -eq 17 ]
  # The command line printed runs, and gives the direct run's outcomes.
  local cmd=${lines[16]#fastest*forksrv}
  cmd=${cmd%%   (*}
  run -0 --separate-stderr "$FORKSRV" $cmd
  [[ "${stderr_lines[-1]}" == *": 4 exited (2 non-zero), 0 crashed, 0 timed out" ]]
}

@test "check -i keeps out a mode whose outcomes or output differ from the direct run's, and says where first" {
  local dir
  dir=$(corpus 1 2 3)
  run -0 "$FORKSRV" check -i "$dir" -- "$T/rodata_patch"
  [[ "${lines[10]}" == *", 3 of 3 as run directly, "* ]]
  [[ "${lines[11]}" == "mode          --start early --reset snapshot started at entry, 1 of 3 as run directly, "* ]]
  [ "${lines[12]}" = "              first difference: $dir/11: its stdout differs from the direct run's" ]
  [[ "${lines[-1]}" == "fastest       forksrv "* ]]
  [[ "${lines[-1]}" != *"--reset snapshot"* ]]
}

@test "check -i runs the sample twice over in each mode: state one run leaves for the next keeps a mode out" {
  local dir
  dir=$(corpus 1)
  run -0 "$FORKSRV" check -i "$dir" -- "$T/rodata_patch"
  [[ "${lines[11]}" == "mode          --start early --reset snapshot started at entry, 1 of 1 as run directly but not all when run again, "* ]]
  [ "${lines[12]}" = "              first difference: $dir/10: its stdout differs from the direct run's, run again" ]
  [[ "${lines[-1]}" != *"--reset snapshot"* ]]
}

@test "check -i holds a program that names its input file in its output to a direct run of the same file, and its command line keeps the options measured with" {
  local dir="$BATS_TEST_TMPDIR/xml"
  mkdir "$dir"
  printf '<a>' >"$dir/bad.xml"
  printf '<a/>' >"$dir/ok.xml"
  run -0 "$FORKSRV" check -t 3000 --input-name doc.xml -i "$dir" -- xmllint --noout @@
  [[ "${lines[10]}" == *", 2 of 2 as run directly, "* ]]
  [[ "${lines[11]}" == *", 2 of 2 as run directly, "* ]]
  [[ "${lines[-1]}" =~ ^fastest\ +forksrv( --start (main|input))?( --reset snapshot)?\ -t\ 3000\ --input-name\ doc.xml\ -i\ $dir\ --\ xmllint\ --noout\ @@ ]]
}

@test "check -i on a harness main: one start point, its own, and a persistent lifecycle said" {
  local dir
  dir=$(corpus a b)
  run -0 "$FORKSRV" check -i "$dir" -- "$T/harness"
  [[ "${lines[10]}" == "mode          --start early --reset fork     started at deferred (persistent), 2 of 2 as run directly, "* ]]
  [ "${lines[12]}" = "mode          --start main  --reset fork     started at deferred: as --start early above" ]
  [ "${lines[15]}" = "mode          --start input --reset snapshot started at deferred: as --start early above" ]
}

@test "-v says fork where snapshot reset was asked for but kept no child" {
  run -0 --separate-stderr "$FORKSRV" -v --reset snapshot -n 3 -- "$T/static_fsrv"
  [ "${stderr_lines[-1]}" = "forksrv: lifecycle: fork: a fresh child for each input (snapshot reset kept none)" ]
}
