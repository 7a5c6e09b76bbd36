#!/usr/bin/env bats
# The CLI pins itself, and so the server and every child, to one core: a core no other user process
# is pinned to, or the one --cpu names; --no-pin leaves scheduling alone.
load helpers

# The Cpus_allowed_list of the running fork server of a driver started in the background.
server_cpus() {
  local pid
  for _ in $(seq 50); do
    pid=$(pgrep -f "^$T/hang" | head -n 1)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$pid/status"
}

@test "by default the driver pins to a free core and says which with -v" {
  run -0 --separate-stderr "$FORKSRV" -v -- "$T/exit_code"
  [[ "${stderr_lines[0]}" =~ ^forksrv:\ pinned\ to\ core\ [0-9]+$ ]] || [ "${stderr_lines[0]}" = "forksrv: no free core to pin to: running unpinned" ]
}

@test "--cpu N pins the server and its children to core N" {
  "$FORKSRV" --cpu 0 -t 0 -i "$(input a 'sleep 2000')" -- "$T/hang" 3>&- &
  local driver=$!
  [ "$(server_cpus)" = "0" ]
  kill -TERM "$driver"
  wait "$driver" || true
  assert_no_leftovers
}

@test "--no-pin leaves the server on every core the driver may use" {
  local all
  all=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
  "$FORKSRV" --no-pin -t 0 -i "$(input a 'sleep 2000')" -- "$T/hang" 3>&- &
  local driver=$!
  [ "$(server_cpus)" = "$all" ]
  kill -TERM "$driver"
  wait "$driver" || true
}

@test "a core that does not exist is an error naming it" {
  run -2 --separate-stderr "$FORKSRV" --cpu 4095 -- "$T/exit_code"
  [ "$stderr" = "forksrv: pin to core 4095: Invalid argument" ]
}

@test "pinned or not, outcomes are those of plain fork+exec" {
  same_as_plain --cpu 0 -i "$(input a 3)" -i "$(input b segv)" -- "$T/crash"
  same_as_plain --no-pin -i "$(input a 3)" -i "$(input b segv)" -- "$T/crash"
}
