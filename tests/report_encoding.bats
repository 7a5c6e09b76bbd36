#!/usr/bin/env bats
# The JSON lines and the JUnit XML stay valid documents whatever the target prints and whatever the
# inputs are called: text that is not UTF-8 (surrogates, past U+10FFFF, overlongs) or that XML 1.0
# forbids is shown as U+FFFD, and the report says so; a name that is not UTF-8 comes with its bytes.
load helpers

# A target that prints its input, read as printf's format (so octal escapes make any byte), to
# stderr and aborts.
SAYS=(/bin/sh -c 'read -r x; printf "$x" >&2; kill -ABRT $$')

@test "stderr with a surrogate, a code point past U+10FFFF, U+FFFF or an overlong gives valid JUnit XML" {
  local xml="$BATS_TEST_TMPDIR/r.xml" c
  c=$(corpus 'a\355\240\200z' 'b\364\220\200\200z' 'c\357\277\277z' 'd\340\200\200z' 'e\001\013\033z')
  run -1 --separate-stderr "$FORKSRV" -q --junit "$xml" -i "$c" -- "${SAYS[@]}"
  xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" "$xml"
  [ "$(xmllint --xpath 'string(//testcase[1]/failure)' "$xml")" = "a���z" ]
  [ "$(xmllint --xpath 'string(//testcase[2]/failure)' "$xml")" = "b����z" ]
  [ "$(xmllint --xpath 'string(//testcase[3]/failure)' "$xml")" = "c�z" ]
  [ "$(xmllint --xpath 'string(//testcase[4]/failure)' "$xml")" = "d���z" ]
  [ "$(xmllint --xpath 'string(//testcase[5]/failure)' "$xml")" = "e���z" ]
  [ "$(xmllint --xpath 'string(//testcase[1]/system-err)' "$xml")" = "forksrv: the target's stderr held 3 bytes that are not UTF-8 or not allowed in XML, shown as U+FFFD" ]
}

@test "valid UTF-8 and markup in stderr reach the JUnit report unchanged" {
  local xml="$BATS_TEST_TMPDIR/r.xml" c
  c=$(corpus '\360\237\230\200 <&> "q" \342\202\254\n')
  run -1 --separate-stderr "$FORKSRV" -q --junit "$xml" -i "$c" -- "${SAYS[@]}"
  [ "$(xmllint --xpath 'string(//testcase[1]/failure)' "$xml")" = '😀 <&> "q" €' ]
  [ "$(xmllint --xpath 'count(//testcase[1]/system-err)' "$xml")" = 0 ]
}

@test "an input named with a byte that is not UTF-8 gives JSON that jq and Python read, with the name's bytes" {
  local c="$BATS_TEST_TMPDIR/c"
  mkdir "$c"
  printf 'x\n' >"$c/bad"$'\xff'
  run -1 --separate-stderr "$FORKSRV" --json -i "$c" -- "${SAYS[@]}"
  jq -e . <<<"$output" >/dev/null
  python3 -c 'import json,sys; json.loads(sys.stdin.buffer.read().decode("utf-8"))' <<<"$output"
  [ "$(jq -r .input <<<"$output")" = "$c/bad�" ]
  [ "$(jq -r .input_hex <<<"$output" | xxd -r -p)" = "$c/bad"$'\xff' ]
}

@test "an input named with a byte that is not UTF-8 gives valid JUnit XML that says so" {
  local c="$BATS_TEST_TMPDIR/c" xml="$BATS_TEST_TMPDIR/r.xml"
  mkdir "$c"
  printf 'x\n' >"$c/bad"$'\xff'
  run -1 --separate-stderr "$FORKSRV" -q --junit "$xml" -i "$c" -- "${SAYS[@]}"
  xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" "$xml"
  [ "$(xmllint --xpath 'string(//testcase[1]/@name)' "$xml")" = "$c/bad�" ]
  [[ "$(xmllint --xpath 'string(//testcase[1]/system-err)' "$xml")" == "forksrv: the input's name holds 1 bytes that are not UTF-8 or not allowed in XML, shown as U+FFFD; its bytes in hex: "*ff ]]
}

@test "every report of a hostile corpus parses: jq for each JSON line, xmllint for the JUnit file" {
  local c="$BATS_TEST_TMPDIR/c" xml="$BATS_TEST_TMPDIR/r.xml" name
  mkdir "$c"
  for name in $'q"uote' $'back\\slash' $'ctl\x01\x1f' $'tab\tand\rcr' '<tag>&amp;' $'lat1\xe9' $'\xed\xa0\x80sur' $'nl\nname' '😀'; do
    printf '\\377\\000\\356%s\n' "$RANDOM" >"$c/$name"
  done
  printf '\\0' >"$c/nul-only"
  run -1 --separate-stderr "$FORKSRV" --json --junit "$xml" --verify 1 -i "$c" -- "${SAYS[@]}"
  [ "${#lines[@]}" -eq 10 ]
  local line
  for line in "${lines[@]}"; do jq -e .input <<<"$line" >/dev/null; done
  xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" "$xml"
  [ "$(xmllint --xpath 'count(//testcase)' "$xml")" = 10 ]
}

@test "newlines and tabs in an input's name survive in the JUnit name attribute" {
  local c="$BATS_TEST_TMPDIR/c" xml="$BATS_TEST_TMPDIR/r.xml"
  mkdir "$c"
  printf 'x\n' >"$c/a"$'\n'"b"$'\t'"c"
  run -1 --separate-stderr "$FORKSRV" -q --junit "$xml" -i "$c" -- "${SAYS[@]}"
  [ "$(xmllint --xpath 'string(//testcase[1]/@name)' "$xml")" = "$c/a"$'\n'"b"$'\t'"c" ]
}

@test "the text lines show control characters in names as escapes, so that no name can forge a line" {
  local c="$BATS_TEST_TMPDIR/c"
  mkdir "$c"
  printf segv >"$c/a"$'\n'"crash x: SIGSEGV"$'\033'"[2J"
  run -1 --separate-stderr "$FORKSRV" -i "$c" -- "$T/crash"
  [ "${#lines[@]}" -eq 1 ]
  [ "$output" = "crash $c/a\\ncrash x: SIGSEGV\\x1b[2J: SIGSEGV" ]
}
