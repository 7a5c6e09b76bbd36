#!/usr/bin/env bats
# preinit/ is layered one way down (docs/design.md, "Where each behaviour lives"): the entry points
# the target reaches, the protocols, the child lifecycles (snapshot reset, its parts, persistent
# mode), one execution, the fds and FIFOs, the ELF reader, the base. A function is called only from
# a layer above its own; only the entry layer's files call each other (the library's start file
# provides start.c's hooks). Read from the objects' symbols, so a new call is checked as it is made.
load helpers

LAYERS=(
  "start start_preload start_static snap_calls input harness_main harness_report"
  "native afl centipede"
  "snapshot"
  "snap_memory snap_fds snap_process"
  "persist"
  "run"
  "fds fifo_open"
  "elf"
  "env say"
)

# Prints "FILE LAYER" for every preinit/*.c, and "FILE none" for one no layer names.
layer_of() {
  local f name i found
  for f in "$BATS_TEST_DIRNAME"/../preinit/*.c; do
    name=$(basename "$f" .c) found=none
    for i in "${!LAYERS[@]}"; do
      [[ " ${LAYERS[$i]} " == *" $name "* ]] && found=$i
    done
    echo "$name $found"
  done
}

# "CALLER CALLEE FUNCTION" for every call from one object of $1 to a function another defines.
calls() {
  local o
  export LC_ALL=C # sort and join agree on the order
  for o in "$1"/*.o; do
    nm --defined-only "$o" | awk -v f="$(basename "$o" .o)" '$2 ~ /^[Tt]$/ { print $3, f }'
  done | sort -u >"$BATS_TEST_TMPDIR/defined"
  for o in "$1"/*.o; do
    nm -u "$o" | awk -v f="$(basename "$o" .o)" '{ print $2, f }'
  done | sort -u | join - "$BATS_TEST_TMPDIR/defined" | awk '$2 != $3 { print $2, $3, $1 }'
}

# The calls among the objects in $1 that go up a layer, or sideways below the entry layer.
upward() {
  layer_of >"$BATS_TEST_TMPDIR/layers"
  calls "$1" | awk 'NR == FNR { layer[$1] = $2; next }
    ($1 in layer) && ($2 in layer) && layer[$1] != "none" && layer[$2] != "none" &&
    (layer[$2] < layer[$1] || (layer[$2] == layer[$1] && layer[$1] > 0)) { print $1 " calls " $3 " of " $2 }' \
    "$BATS_TEST_TMPDIR/layers" -
}

@test "every file of preinit/ has its place in the layers" {
  run -0 layer_of
  [[ "$output" != *" none"* ]]
}

@test "preinit/'s files call only down the layers, never up nor sideways" {
  run -0 upward "$B/preinit"
  [ -z "$output" ]
  # What it reads are real calls: afl.c's into run.c.
  run -0 calls "$B/preinit"
  [[ "$output" == *"afl run fsrv_await"* ]]
}

@test "a call that goes up is named: fds.c calling run.c's fsrv_await" {
  mkdir "$BATS_TEST_TMPDIR/objs"
  cp "$B"/preinit/*.o "$BATS_TEST_TMPDIR/objs/"
  printf 'void fsrv_await(void);\nvoid planted(void) { fsrv_await(); }\n' | cc -c -x c - -o "$BATS_TEST_TMPDIR/objs/fds.o"
  run -0 upward "$BATS_TEST_TMPDIR/objs"
  [ "$output" = "fds calls fsrv_await of run" ]
}
