#!/usr/bin/env bats
# Numeric options take digits only, within their range: no sign, no space, no wrap-around, so that
# a typo in a CI script is an error (exit 2) and never a different run that looks successful.
load helpers

@test "--shard refuses a negative count instead of running the first input" {
  run -2 --separate-stderr "$FORKSRV" --shard 1/-3 -i "$(input a 0)" -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --shard wants I/N with 1 <= I <= N <= 4294967295, not '1/-3'" ]
  [ "$output" = "" ]
}

@test "--shard refuses a count that would wrap around to 1" {
  run -2 --separate-stderr "$FORKSRV" --shard 1/4294967297 -i "$(input a 0)" -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --shard wants I/N with 1 <= I <= N <= 4294967295, not '1/4294967297'" ]
}

@test "--shard refuses spaces, signs and trailing text" {
  local a
  for a in ' 1/2' '+1/2' '1/ 2' '1/2x' '1/' '/2' '1'; do
    run -2 --separate-stderr "$FORKSRV" --shard "$a" -i "$(input a 0)" -- "$T/exit_code"
    [ "${stderr_lines[0]}" = "forksrv: --shard wants I/N with 1 <= I <= N <= 4294967295, not '$a'" ]
  done
}

@test "--runs, --timeout, --jobs and --verify refuse signs, spaces and values past their range" {
  run -2 --separate-stderr "$FORKSRV" -n ' 5' -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --runs wants a whole number from 0 to 1099511627776, not ' 5'" ]
  run -2 --separate-stderr "$FORKSRV" -t +5 -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --timeout wants a whole number from 0 to 1073741824, not '+5'" ]
  run -2 --separate-stderr "$FORKSRV" -t -1 -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --timeout wants a whole number from 0 to 1073741824, not '-1'" ]
  run -2 --separate-stderr "$FORKSRV" -j 18446744073709551617 -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --jobs wants a whole number from 0 to 1024, not '18446744073709551617'" ]
  run -2 --separate-stderr "$FORKSRV" --verify 0x10 -- "$T/exit_code"
  [ "${stderr_lines[0]}" = "forksrv: --verify wants a whole number from 0 to 1099511627776, not '0x10'" ]
}

@test "--cpu refuses empty items, signs and cores past 4095" {
  local a
  for a in '1,,2' '1,' ',1' '-1' '4096' '0, 1'; do
    run -2 --separate-stderr "$FORKSRV" --cpu "$a" -- "$T/exit_code"
    [ "${stderr_lines[0]}" = "forksrv: --cpu wants a core or a list of them (0 to 4095, e.g. 0,2), not '$a'" ]
  done
}

@test "well-formed numbers still work: the largest shard count and a list of cores" {
  run -0 --separate-stderr "$FORKSRV" -q --shard 1/4294967295 -i "$(input a 0)" -- "$T/exit_code"
  run -0 --separate-stderr "$FORKSRV" -q --no-pin --cpu 0,1 -n 2 -- "$T/exit_code"
}
