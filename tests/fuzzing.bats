#!/usr/bin/env bats
# forksrv's own parsers under libFuzzer (tests/fuzz/): the committed corpora, which `make fuzz`
# grows, replay without a finding; a crash found there is added to its corpus and so replayed here.
load helpers

@test "the environment parser agrees with a plain reference parser on every corpus input" {
  [ "$(ls "$BATS_TEST_DIRNAME/fuzz/corpus/env_parser" | wc -l)" -gt 10 ]
  run -0 "$B/fuzz/env_parser" -runs=0 "$BATS_TEST_DIRNAME/fuzz/corpus/env_parser"
}

@test "every message the decoders accept re-encodes to the same bytes, on every corpus input" {
  [ "$(ls "$BATS_TEST_DIRNAME/fuzz/corpus/messages" | wc -l)" -gt 5 ]
  run -0 "$B/fuzz/messages" -runs=0 "$BATS_TEST_DIRNAME/fuzz/corpus/messages"
}

@test "the environment parser's harness does catch a parser that disagrees" {
  # A deliberately wrong parser build (every value cut to 8 bytes) must be caught by a corpus input.
  cd "$BATS_TEST_TMPDIR"
  sed 's/if (p->vlen + 1 < sizeof v->value)/if (p->vlen < 8)/' "$BATS_TEST_DIRNAME/../preinit/env.c" >env_broken.c
  clang -g -O1 -fsanitize=fuzzer -ffreestanding -I"$BATS_TEST_DIRNAME/../preinit" -o broken \
    "$BATS_TEST_DIRNAME/fuzz/env_parser.c" env_broken.c
  run ! ./broken "$BATS_TEST_DIRNAME/fuzz/corpus/env_parser/long-values"
  [[ "$output" == *"deadly signal"* ]]
}

@test "the report writers' output reads back as valid JSON and XML text on every corpus input" {
  [ "$(ls "$BATS_TEST_DIRNAME/fuzz/corpus/writers" | wc -l)" -gt 20 ]
  run -0 "$B/fuzz/writers" -runs=0 "$BATS_TEST_DIRNAME/fuzz/corpus/writers"
}

@test "the report writers' harness does catch a writer that lets a surrogate through" {
  cd "$BATS_TEST_TMPDIR"
  sed 's/(c >= 0xd800 \&\& c <= 0xdfff)/0/' "$BATS_TEST_DIRNAME/../driver/text.c" >text_broken.c
  ! cmp -s text_broken.c "$BATS_TEST_DIRNAME/../driver/text.c"
  clang -g -O1 -fsanitize=fuzzer -I"$BATS_TEST_DIRNAME/../driver" -o broken "$BATS_TEST_DIRNAME/fuzz/writers.c" text_broken.c
  run ! ./broken "$BATS_TEST_DIRNAME/fuzz/corpus/writers/surrogate"
  [[ "$output" == *"deadly signal"* ]]
}
