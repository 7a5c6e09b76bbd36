# The suite's own lint (scripts/lint-bats.sh): a non-final `[ a ] && [ b ]` line in a bats test
# checks only b, since errexit ignores a failed left side of &&.
load helpers

LINT="$BATS_TEST_DIRNAME/../scripts/lint-bats.sh"

@test "no bats test joins assertions with && on a non-final line" {
  run -0 "$LINT" "$BATS_TEST_DIRNAME"/*.bats
  [ -z "$output" ]
}

@test "the lint finds a planted non-final && assertion, and names its file and line" {
  printf '@test "x" {\n  [ 1 = 2 ] && [ 1 = 1 ]\n  true\n}\n' >"$BATS_TEST_TMPDIR/p.bats"
  run -1 "$LINT" "$BATS_TEST_TMPDIR/p.bats"
  [ "$output" = "$BATS_TEST_TMPDIR/p.bats:2: [ 1 = 2 ] && [ 1 = 1 ]" ]
}

@test "a final && line, an if, a || list and && skip are not reported" {
  printf '@test "y" {\n  if [ a = a ] && [ b = b ]; then true; fi\n  [ -f x ] && ls x || echo none\n  [ -n "" ] && skip "why"\n  [ a = a ] && [ b = b ]\n}\n' >"$BATS_TEST_TMPDIR/q.bats"
  run -0 "$LINT" "$BATS_TEST_TMPDIR/q.bats"
  [ -z "$output" ]
}
