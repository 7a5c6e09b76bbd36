#!/usr/bin/env bats
# The live progress line: drawn on a terminal only, erased before other output and at the end, never
# with -q, uncoloured with NO_COLOR.
load helpers

# on_tty CMD...: runs CMD with stdin, stdout and stderr on a pseudo-terminal; what it wrote, raw.
on_tty() {
  local cmd
  printf -v cmd '%q ' "$@"
  script -qec "$cmd" /dev/null </dev/null
}

@test "on a terminal a progress line counts done/total, execs/s, crashes, timeouts and an ETA" {
  run on_tty env TERM=xterm "$FORKSRV" -n 2000 -i "$(input a 0)" -- "$T/exit_code"
  [[ "$output" == *$'\r\033[K'*"/2000  "*" execs/s  0 crashes  0 timeouts"* ]]
  [[ "$output" == *"  ETA 0:00:0"* ]]
}

@test "the progress line is erased before the summary, so the screen keeps what a non-terminal run prints" {
  run on_tty env TERM=xterm "$FORKSRV" -n 300 -i "$(input a 0)" -- "$T/exit_code"
  # the last progress frame is followed by an erase, then the summary line
  [[ "$output" == *$'\r\033[K'"forksrv: 300 executions in "* ]]
  # and with the control sequences applied, only the summary is left
  [ "$(printf '%s' "$output" | sed 's/.*\x1b\[K//' | tr -d '\r')" = "$(printf '%s' "$output" | grep -o 'forksrv: 300 executions.*' | tr -d '\r')" ]
}

@test "crash lines print cleanly over the progress line, and crashes are coloured unless NO_COLOR is set" {
  run on_tty env TERM=xterm "$FORKSRV" -n 50 -i "$(input a segv)" -- "$T/crash"
  [[ "$output" == *$'\033[31m'*" crashes"$'\033[m'* ]]
  [[ "$output" == *$'\r\033[K'"crash $BATS_TEST_TMPDIR/in/a: SIGSEGV"* ]]
  run on_tty env TERM=xterm NO_COLOR=1 "$FORKSRV" -n 50 -i "$(input a segv)" -- "$T/crash"
  [[ "$output" == *" crashes"* ]]
  [[ "$output" != *$'\033[31m'* ]]
}

@test "no progress line with -q, nor when stderr is not a terminal" {
  # -q on a terminal: a clean run prints nothing at all, progress line included.
  run -0 on_tty env TERM=xterm "$FORKSRV" -q -n 300 -i "$(input a 0)" -- "$T/exit_code"
  [ "$output" = "" ]
  run -0 --separate-stderr "$FORKSRV" -n 300 -i "$(input a 0)" -- "$T/exit_code"
  [[ "$stderr" != *$'\r'* ]]
  [[ "$stderr" != *$'\033'* ]]
}
