#!/usr/bin/env bats
# The two ways the server gets into a target: libforksrv.so, preloaded, which needs nothing from libc
# and exports nothing; and libforksrv.a, linked in, which starts it from .preinit_array.
load helpers

@test "libforksrv.so needs no symbol from libc or anything else" {
  run -0 --separate-stderr nm -D --undefined-only "$B/libforksrv.so"
  [ -z "$output" ]
  run -0 readelf -d "$B/libforksrv.so"
  [[ "$output" != *NEEDED* ]]
}

@test "libforksrv.so and libforksrv.a add no name to the target but those they must" {
  # __libc_start_main, to start the server at main (it calls libc's own); forksrv_start_server and
  # forksrv_loop_server, for forksrv.h's forksrv_start() and forksrv_loop(); forksrv_input_spec and
  # forksrv_input_server and forksrv_input_refuse, for libforksrv_input.so (--start input); _exit and
  # _Exit, where a snapshot child's execution ends (--reset snapshot), and the calls that tell it what
  # an execution changed of the process (preinit/snap_calls.c): each does as libc's does otherwise.
  run -0 --separate-stderr nm -D --defined-only "$B/libforksrv.so"
  [ "$(awk '{ print $3 }' <<<"$output" | sort | tr '\n' ' ')" = "_Exit __cxa_atexit __libc_start_main _exit capset chroot forksrv_input_refuse forksrv_input_server forksrv_input_spec forksrv_loop_server forksrv_start_server initgroups madvise mlock mlock2 mlockall mprotect on_exit personality pkey_mprotect prctl prlimit prlimit64 pthread_setaffinity_np ptrace sched_setaffinity semop semtimedop setfsgid setfsuid setgroups setns setrlimit setrlimit64 timer_create ulimit unshare " ]
  run -0 nm -g --defined-only "$B/libforksrv.a"
  [ "$(grep ' [TDBR] ' <<<"$output" | awk '{ print $3 }' | sort | tr '\n' ' ')" = "forksrv_loop_server forksrv_start_server " ]
}

@test "a static target linked with libforksrv.a is served from .preinit_array, outcomes as plain" {
  same_as_plain -i "$(input a 0)" -i "$(input b 3)" -i "$(input c 255)" -- "$T/static_fsrv"
  [[ "$output" == *'"exit_code":255'* ]]
  run -0 --separate-stderr "$FORKSRV" -v -i "$(input d 0)" -- "$T/static_fsrv"
  [[ "$stderr" == *"forksrv: fork server pid "*" started at preinit"* ]]
}

@test "a static-pie target linked with libforksrv.a, which has a dynamic section but no loader, is served; snapshot reset warns and forks" {
  same_as_plain -i "$(input a 0)" -i "$(input b 3)" -- "$T/static_pie_fsrv"
  [[ "$output" == *'"exit_code":3'* ]]
  run -0 --separate-stderr "$FORKSRV" --reset snapshot -n 2 -- "$T/static_pie_fsrv"
  [ "${stderr%%$'\n'*}" = "forksrv: warning: snapshot reset needs a dynamically linked glibc target: each input gets a fresh fork" ]
}

@test "a dynamic target with libforksrv.a linked in and preloaded too runs one server, from preinit" {
  run -0 --separate-stderr "$FORKSRV" -v --json -n 3 -i "$(input a 0)" -- "$T/dynamic_fsrv"
  [[ "$stderr" == *"forksrv: fork server pid "*" started at preinit"* ]]
  [ "$(grep -c '"result":"exited","exit_code":0' <<<"$output")" -eq 3 ]
}

@test "a dynamic target with libforksrv.a linked in and preloaded too runs one server at --start main too: each copy has read the driver's variables, the first to start serves" {
  run -0 --separate-stderr "$FORKSRV" -v --json --start main -n 3 -i "$(input a 0)" -- "$T/dynamic_fsrv"
  [ "$(grep -c "forksrv: fork server pid .* started at main" <<<"$stderr")" -eq 1 ]
  [ "$(grep -c '"result":"exited","exit_code":0' <<<"$output")" -eq 3 ]
}

@test "a dynamic target with libforksrv.a linked in and preloaded too, that retitles itself in a constructor, runs one server at --start main: the other copy sees it runs in that server's child" {
  run -0 --separate-stderr "$FORKSRV" -v --json --start main -n 3 -i "$(input a 0)" -- "$T/retitle_fsrv"
  [ "$(grep -c "forksrv: fork server pid .* started at main" <<<"$stderr")" -eq 1 ]
  [ "$(grep -c '"result":"exited","exit_code":0' <<<"$output")" -eq 3 ]
  same_as_plain --start main -i "$(input b 7)" -i "$(input c 0)" -- "$T/retitle_fsrv"
  [[ "$output" == *'"exit_code":7'* ]]
}

@test "the static target without a driver runs like any program" {
  run -7 --separate-stderr "$T/static_fsrv" < <(printf 7)
  [ "$output" = "input '7'" ]
}

