#!/usr/bin/env bats
# Snapshot reset under the limits users have: a login shell's soft fd limit of 1024 (and a hard one
# as low), thousands of mappings and hundreds of fds at the fork point. The snapshot's own fds sit
# above the target's limit, or at its top where the hard limit leaves no room; where there is no room
# at all, one warning says so and every input gets a fresh fork, with the direct run's outcome.
load helpers

# direct_stdout TARGET INPUT...: what TARGET prints run directly, as the shell runs it, once per input.
direct_stdout() {
  local target=$1 in
  shift
  for in in "$@"; do "$target" <"$in"; done
}

# pids: the pids of the --json lines in $output, space-separated.
pids() { grep -o '"pid":[0-9]*' <<<"$output" | cut -d: -f2 | tr '\n' ' '; }

# one_child: every --json line in $output names the same pid.
one_child() {
  local p
  read -r -a p <<<"$(pids)"
  [ "${#p[@]}" -ge 2 ]
  [ "$(printf '%s\n' "${p[@]}" | sort -u | wc -l)" -eq 1 ]
}

@test "under a login shell's soft fd limit of 1024, each input is put back in one child and finds what a direct run finds" {
  local a b
  a=$(input a maps) b=$(input b 0)
  expected=$(MAPS=4 direct_stdout "$T/reset" "$a" "$b" "$a")
  ulimit -Sn 1024
  MAPS=4 run -0 --separate-stderr "$FORKSRV" --reset snapshot --show-output -i "$a" -i "$b" -i "$a" -- "$T/reset"
  [ "$output" = "$expected" ]
  [ "${#stderr_lines[@]}" -eq 1 ]
  MAPS=4 run -0 --separate-stderr "$FORKSRV" --reset snapshot --json -i "$a" -i "$b" -i "$a" -- "$T/reset"
  one_child
}

@test "with soft and hard fd limits of 1024, as a user who cannot raise them, the target's fds are numbered as run directly" {
  local a
  a=$(input a 0)
  expected=$(direct_stdout "$T/reset" "$a" "$a")
  as_user bash -c 'ulimit -n 1024 && exec "$@"' sh "$FORKSRV" --reset snapshot --show-output -n 2 -i "$a" -- "$T/reset" >"$BATS_TEST_TMPDIR/out"
  [ "$(cat "$BATS_TEST_TMPDIR/out")" = "$expected" ]
  run -0 --separate-stderr as_user bash -c 'ulimit -n 1024 && exec "$@"' sh "$FORKSRV" --reset snapshot --json -n 3 -i "$a" -- "$T/reset"
  one_child
}

@test "a target that lowers both its fd limits before the fork point is put back, with the direct run's outcomes" {
  local a
  a=$(input a fds)
  expected=$(NOFILE=64 FDS=20 direct_stdout "$T/reset" "$a" "$a")
  NOFILE=64 FDS=20 run -0 --separate-stderr as_user "$FORKSRV" --reset snapshot --start main --show-output -n 2 -i "$a" -- "$T/reset"
  [ "$output" = "$expected" ]
  NOFILE=64 FDS=20 run -0 --separate-stderr as_user "$FORKSRV" --reset snapshot --start main --json -n 3 -i "$a" -- "$T/reset"
  one_child
}

@test "an fd limit too low for the snapshot's fds: one warning, and every input gets a fresh fork with the direct run's outcome" {
  local inputs
  inputs=$(corpus 0 7 segv 0)
  export NOFILE=12
  same_as_plain --reset snapshot --start main -i "$inputs" -- "$T/reset"
  [ "$status" -eq 1 ]
  [ "$stderr" = "forksrv: warning: snapshot reset could not record the state at the fork point: no room for its fds under the fd limit (RLIMIT_NOFILE): Too many open files; each input gets a fresh fork from now on"$'\n'"forksrv: 4 executions in ${stderr#*executions in }" ]
  read -r -a p <<<"$(pids)"
  [ "${p[0]}" != "${p[1]}" ]
  [ "${p[1]}" != "${p[2]}" ]
  [ "${p[2]}" != "${p[3]}" ]
  run -0 "$FORKSRV" check --reset snapshot --start main -- "$T/reset"
  [ "${lines[5]}" = "reset         fork: snapshot reset could not record the state at the fork point: no room for its fds under the fd limit (RLIMIT_NOFILE): Too many open files" ]
}

@test "a harness main whose state cannot be recorded runs each input in a process of its own, as run directly: never one after another" {
  local dir="$BATS_TEST_TMPDIR/three" i
  mkdir -p "$dir"
  for i in 1 2 3; do printf 'x%d' "$i" >"$dir/$i"; done
  export HARNESS_COUNTS=1 HARNESS_NOFILE=12
  expected=$(for i in 1 2 3; do FORKSRV_PLAIN=1 "$T/harness" "$dir/$i"; done)
  [ "$(sort -u <<<"$expected")" = "count=1 heap=1" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --show-output -i "$dir" -- "$T/harness"
  [ "$output" = "$expected" ]
  [ "${stderr_lines[0]}" = "forksrv: warning: snapshot reset could not record the state at the fork point: no room for its fds under the fd limit (RLIMIT_NOFILE): Too many open files; each input gets a fresh fork from now on" ]
}

@test "3,000 mappings at the fork point: each written page of each is found fresh the next time, in one child" {
  local a
  a=$(input a maps)
  export MAPS=3000
  expected=$(direct_stdout "$T/reset" "$a" "$a" "$a")
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --show-output -n 3 -i "$a" -- "$T/reset"
  [ "$output" = "$expected" ]
  [ "${lines[1]}" = "maps written 1500, found dirty 0" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --json -n 3 -i "$a" -- "$T/reset"
  one_child
}

@test "600 fds at the fork point: each one an input closes is open again for the next, in one child" {
  local a
  a=$(input a fds)
  export FDS=600
  expected=$(direct_stdout "$T/reset" "$a" "$a" "$a")
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --show-output -n 3 -i "$a" -- "$T/reset"
  [ "$output" = "$expected" ]
  [ "${lines[1]}" = "fds closed 600, found open 600" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --json -n 3 -i "$a" -- "$T/reset"
  one_child
}
