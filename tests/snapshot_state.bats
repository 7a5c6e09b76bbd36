#!/usr/bin/env bats
# Snapshot reset's table of process state (docs/design.md): for each piece an execution can change,
# the next execution finds what a direct run finds, under fork and under snapshot reset, at the
# default start and at --start main; and the snapshot child either put it back (one child runs all
# the inputs) or was discarded for it (each input gets a fresh fork). A row the fork path shares with
# snapshot reset (a tell) says so. The fork path is held to the direct run too: what a child shares
# with the server (the open file descriptions of the fds open at the fork point) is set back for it.
load helpers

# state_row PIECE KEPT [FORKSRV OPTIONS...]: the state target ($STATE, else tests/targets/state.c
# built plain) changes PIECE in each of the inputs PIECE PIECE 0, and prints what each execution found
# of it. KEPT 1: one snapshot child ran all three, and nothing was said; else each had a fresh one,
# and one warning said why in KEPT's words ("left a thread running").
state_row() {
  local piece=$1 kept=$2 start dir="$BATS_TEST_TMPDIR/$1" expected children target=${STATE:-$T/state}
  shift 2
  mkdir -p "$dir"
  printf '%s' "$piece" >"$dir/1"
  printf '%s' "$piece" >"$dir/2"
  printf 0 >"$dir/3"
  export PIECES=$piece
  # Each run directly with a stdout of its own, as a fresh start has it.
  expected=$(for in in "$dir"/*; do echo "$("$target" <"$in")"; done)
  [ "$(wc -l <<<"$expected")" -eq 3 ]
  for start in early main; do
    run -0 --separate-stderr "$FORKSRV" "$@" --start "$start" --show-output -i "$dir" -- "$target"
    [ "$output" = "$expected" ]
    run -0 --separate-stderr "$FORKSRV" "$@" --reset snapshot --start "$start" --show-output -i "$dir" -- "$target"
    [ "$output" = "$expected" ]
    run -0 --separate-stderr "$FORKSRV" "$@" --reset snapshot --start "$start" --json -i "$dir" -- "$target"
    children=$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)
    if [ "$kept" = 1 ]; then
      [ "$children" -eq 1 ]
      [ "$stderr" = "forksrv: 3 executions in ${stderr#*executions in }" ]
    else
      [ "$children" -eq 3 ]
      [ "${stderr_lines[0]}" = "forksrv: warning: snapshot reset discarded its child after an input that $kept; the input after it gets a fresh fork" ]
      [ "${#stderr_lines[@]}" -eq 2 ]
    fi
  done
}

DISCARD_PROCESS="changed its limits, prctl attributes, CPUs, groups, capabilities or priorities beyond putting back"
DISCARD_CALL="made a call nothing puts back (chroot, unshare, setns, ptrace, an madvise on how memory forks, an unknown prctl)"

needs_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }

# A System V semaphore set a test made is removed, whatever the test's end.
teardown() {
  if [ -f "$BATS_TEST_TMPDIR/semid" ]; then ipcrm -s "$(cat "$BATS_TEST_TMPDIR/semid")" 2>/dev/null || true; fi
  forksrv_teardown
}

@test "resource limits an execution lowers are put back: the soft fd limit, the CPU time limit" {
  state_row nofile 1
  state_row cpu-limit 1
}

@test "under a CPU time limit, an input a snapshot child's earlier CPU time would have pushed over it runs again in a fresh fork: no false SIGXCPU or SIGKILL" {
  # 1 s of CPU time each: inputs of 0.6 s exit 0 run directly; one of 1.5 s is killed, by SIGXCPU
  # under a soft limit alone, by SIGKILL under `ulimit -t`'s soft and hard ones.
  local in="-i $(input a burn) -i $(input b burn) -i $(input c burn) -i $(input d burn-long)"
  export PIECES=none
  CPULIMIT_SOFT=1 same_as_plain --reset snapshot --start main -t 4000 $in -- "$T/state"
  [ "$status" -eq 1 ]
  [[ "${lines[2]}" == *'"result":"exited","exit_code":0'* ]]
  [[ "${lines[3]}" == *'"result":"crashed","signal":"SIGXCPU"'* ]]
  CPULIMIT=1 same_as_plain --reset snapshot --start main -t 4000 $in -- "$T/state"
  [ "$status" -eq 1 ]
  [[ "${lines[2]}" == *'"result":"exited","exit_code":0'* ]]
  [[ "${lines[3]}" == *'"result":"crashed","signal":"SIGKILL"'* ]]
}

@test "a hard limit an execution lowers is put back where the child may raise it again, else the child is discarded: the fd limit, ulimit's file size" {
  if bash -c 'ulimit -Hn 64 && ulimit -Hn 65' 2>/dev/null; then state_row nofile-hard 1; else state_row nofile-hard "$DISCARD_PROCESS"; fi
  # ulimit(UL_SETFSIZE) lowers both file size limits
  if bash -c 'ulimit -Hf 4096 && ulimit -Hf unlimited' 2>/dev/null; then state_row fsize 1; else state_row fsize "$DISCARD_PROCESS"; fi
}

@test "the nice value, the scheduling policy and the I/O priority an execution changes are put back" {
  if bash -c 'renice -n 5 -p $$ && renice -n 0 -p $$' >/dev/null 2>&1; then state_row nice 1; else state_row nice "$DISCARD_PROCESS"; fi
  state_row policy 1
  state_row ioprio 1
}

@test "prctl's attributes are put back: the name, dumpable, child subreaper, timer slack, THP disabled, keep-caps" {
  state_row name 1
  state_row dumpable 1
  state_row subreaper 1
  state_row timerslack 1
  state_row thp-disable 1
  state_row keepcaps 1
}

@test "the parent-death signal is put back; it is SIGKILL in every child of the server, as under fork (a tell)" {
  export PIECES=pdeathsig
  run -0 "$T/state" < <(printf 0)
  [ "$output" = "pdeathsig 0" ]
  run -0 --separate-stderr "$FORKSRV" --show-output -n 2 -i "$(input a pdeathsig)" -- "$T/state"
  local forked=$output
  [ "$forked" = "pdeathsig 9"$'\n'"pdeathsig 9" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --show-output -n 2 -i "$(input a pdeathsig)" -- "$T/state"
  [ "$output" = "$forked" ]
}

@test "a process group changed cannot be put back: the child is discarded; each child leads a group of its own, as under fork (a tell)" {
  local dir="$BATS_TEST_TMPDIR/pg" start
  mkdir -p "$dir"
  printf group-leader >"$dir/1"
  printf group-leader >"$dir/2"
  printf 0 >"$dir/3"
  export PIECES=group-leader
  for start in early main; do
    run -0 --separate-stderr "$FORKSRV" --start "$start" --show-output -i "$dir" -- "$T/state"
    [ "$output" = "group-leader 1"$'\n'"group-leader 1"$'\n'"group-leader 1" ]
    run -0 --separate-stderr "$FORKSRV" --reset snapshot --start "$start" --show-output -i "$dir" -- "$T/state"
    [ "$output" = "group-leader 1"$'\n'"group-leader 1"$'\n'"group-leader 1" ]
    run -0 --separate-stderr "$FORKSRV" --reset snapshot --start "$start" --json -i "$dir" -- "$T/state"
    [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 3 ]
  done
}

@test "the CPUs an execution may run on are put back" {
  state_row cpus 1 --no-pin
}

@test "the personality, the umask and the working directory are put back" {
  state_row personality 1
  state_row umask 1
  state_row cwd-is-root 1
}

@test "supplementary groups and the filesystem uid an execution sets are put back" {
  needs_root
  state_row groups 1
  state_row fsuid 1
}

@test "a capability dropped, another user, another root, another namespace cannot be put back: the child is discarded" {
  needs_root
  state_row caps "$DISCARD_PROCESS"
  state_row uid "changed its uids, gids, session, process group or seccomp filter"
  state_row root-inode "$DISCARD_CALL"
  state_row hostname "$DISCARD_CALL"
}

@test "locked memory, POSIX timers and interval timers an execution leaves are undone, as a fresh fork has none" {
  state_row locked-kb 1
  state_row posix-timers 1
  state_row itimer 1
}

@test "a POSIX timer left armed does not fire in the next execution" {
  local a b
  a=$(input a posix-timers) b=$(input b sleep)
  export PIECES=posix-timers
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --json -i "$a" -i "$b" -- "$T/state"
  [ "$(grep -c '"result":"exited","exit_code":0' <<<"$output")" -eq 2 ]
}

@test "the floating-point rounding mode and the exception flags an execution leaves are put back" {
  state_row fp-round 1
  state_row fp-raised 1
}

@test "a System V semaphore's SEM_UNDO adjustment is applied as the process's end would apply it" {
  export SEMID
  SEMID=$(ipcmk -S 1 | awk '{ print $NF }')
  echo "$SEMID" >"$BATS_TEST_TMPDIR/semid"
  state_row semval 1
}

@test "a page MADV_FREE let go has its fork point's contents in the next execution, even once reclaimed" {
  # MADV_FREE lets go only of a page the process has a copy of its own: one an earlier input wrote.
  local dir="$BATS_TEST_TMPDIR/page" start expected
  mkdir -p "$dir"
  printf touch >"$dir/1"
  printf page >"$dir/2"
  printf 0 >"$dir/3"
  export PIECES=page
  expected=$(for in in "$dir"/*; do "$T/state" <"$in"; done)
  [ "$expected" = "page pristine"$'\n'"page pristine"$'\n'"page pristine" ]
  for start in early main; do
    run -0 --separate-stderr "$FORKSRV" --reset snapshot --start "$start" --show-output -i "$dir" -- "$T/state"
    [ "$output" = "$expected" ]
    run -0 --separate-stderr "$FORKSRV" --reset snapshot --start "$start" --json -i "$dir" -- "$T/state"
    [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ]
  done
}

@test "a robust mutex left locked in a shared file ends the child as a process's end would: the next finds its owner died" {
  export SHARED="$BATS_TEST_TMPDIR/shared"
  truncate -s 4096 "$SHARED"
  # Each way starts from a file whose mutex was never made.
  state_row_shared() {
    truncate -s 0 "$SHARED" && truncate -s 4096 "$SHARED"
  }
  local dir="$BATS_TEST_TMPDIR/robust" start mode
  mkdir -p "$dir"
  printf robust >"$dir/1"
  printf robust >"$dir/2"
  printf robust >"$dir/3"
  export PIECES=robust
  state_row_shared
  expected=$(for in in "$dir"/*; do "$T/state" <"$in"; done)
  [ "$expected" = "robust locked"$'\n'"robust owner-died"$'\n'"robust owner-died" ]
  for start in early main; do
    for mode in fork snapshot; do
      state_row_shared
      run -0 --separate-stderr "$FORKSRV" --reset "$mode" --start "$start" --show-output -t 2000 -i "$dir" -- "$T/state"
      [ "$output" = "$expected" ]
    done
  done
}

@test "stdout's status flags, and the offset of a file opened before the fork point, are each execution's afresh, under fork too" {
  state_row stdout-nonblock 1
  state_row offset 1
}

@test "MAP_DROPPABLE memory (glibc's getrandom state), which userfaultfd cannot track, is put back whole: wiped, as every fork wipes it (a tell)" {
  export PIECES=droppable
  run -0 "$T/state" < <(printf 0)
  [ "$output" != "droppable none" ] || skip "no MAP_DROPPABLE before Linux 6.11"
  [ "$output" = "droppable pristine" ]
  local dir wiped="droppable "$'\n'"droppable "$'\n'"droppable "
  dir=$(corpus droppable droppable 0)
  run -0 --separate-stderr "$FORKSRV" --start main --show-output -i "$dir" -- "$T/state"
  [ "$output" = "$wiped" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --show-output -i "$dir" -- "$T/state"
  [ "$output" = "$wiped" ]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot --start main --json -i "$dir" -- "$T/state"
  [ "$(grep -o '"pid":[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ]
}

@test "an madvise that changes how a mapping forks cannot be put back: the child is discarded" {
  state_row wipeonfork "$DISCARD_CALL"
}

@test "a prctl the program defines itself takes the calls the preload's wrapper would see: no put-back can compare all it may change, so the child is discarded after every execution" {
  export STATE=$T/state_own_prctl
  state_row dumpable "$DISCARD_CALL"
  state_row timerslack "$DISCARD_CALL"
  state_row nofile "$DISCARD_CALL"
}
