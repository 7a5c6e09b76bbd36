#!/usr/bin/env bats
# A short soak (scripts/soak.sh with 20,000 executions; run it with 1,000,000 by hand): the outcome
# tally equals the corpus's, and no fd or memory of the driver or the server grows along the way.
load helpers

@test "20,000 mixed executions and 2,000 with a timeout every 100th: exact tally, nothing grows" {
  run "$BATS_TEST_DIRNAME/../scripts/soak.sh" "$B" 20000
  echo "$output" # the samples, when it fails
  [ "$status" -eq 0 ]
  [[ "$output" == *"mixed: 20000 executions: 8000 exited 0, 8000 exited non-zero, 4000 crashed, 0 timed out, 0 other"* ]]
  [[ "$output" == *"timeouts: 2000 executions: 1980 exited 0, 0 exited non-zero, 0 crashed, 20 timed out, 0 other"* ]]
  [ "${lines[-1]}" = "soak: passed" ]
  assert_no_leftovers
}
