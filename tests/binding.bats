#!/usr/bin/env bats
# Symbol binding: the server starts with LD_BIND_NOW=1, so the dynamic loader binds every symbol once
# there and no child binds one again (each lazy binding costs a child page faults in the loader). The
# target's descendants do not see the variable; a target that cannot start so starts lazily.
load helpers

# binding_read ARGS...: how many times the target bound its call to `read' over 3 executions (the
# loader's LD_DEBUG lines: the server's process and every child write them to one file).
binding_read() {
  LD_DEBUG=bindings LD_DEBUG_OUTPUT="$BATS_TEST_TMPDIR/ld" "$FORKSRV" -q -n 3 "$@" -- "$T/exit_code" </dev/null
  cat "$BATS_TEST_TMPDIR"/ld.* | grep -c "binding file $T/exit_code .*normal symbol \`read'" || true
  rm -f "$BATS_TEST_TMPDIR"/ld.*
}

@test "no child binds a symbol itself: the server bound them all, once, before the first fork" {
  [ "$(binding_read)" -eq 1 ]
  [ "$(binding_read --start main)" -eq 1 ]
}

@test "with --lazy-binding every child binds the symbols it calls" {
  [ "$(binding_read --lazy-binding)" -eq 3 ]
}

@test "the target's descendants do not see the LD_BIND_NOW the driver set" {
  same_as_plain -i "$(input a 7)" -- "$T/shell"
  [[ "$output" == *'"exit_code":7'* ]]
}

@test "an LD_BIND_NOW of the user's own is left as it is, for the target and its descendants" {
  export LD_BIND_NOW=1
  same_as_plain -i "$(input a 7)" -- "$T/shell"
  [[ "$output" == *'"exit_code":107'* ]]
}

@test "a target that needs a symbol no library has starts with lazy binding, with a warning, and runs as plain" {
  uses_libgone 'int present(void) { return 3; } int gone(void) { return 4; }' \
    'int present(void); int gone(void); int main(int c, char **v) { (void)v; return c > 1 ? gone() : present(); }'
  echo 'int present(void) { return 3; }' >gone.c
  cc -shared -fPIC -o libgone.so gone.c
  same_as_plain -n 2 -- ./uses
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[1]}" == *'"exit_code":3'* ]]
  [ "${stderr_lines[0]}" = "forksrv: warning: with LD_BIND_NOW=1: ./uses: symbol lookup error: ./uses: undefined symbol: gone; binding lazily instead, in every child (slower)" ]
  run -0 "$FORKSRV" check -- ./uses
  [ "${lines[4]}" = "binding       lazily, again in every child: the target cannot start with LD_BIND_NOW=1 (a symbol no library has)" ]
  assert_no_leftovers
}

@test "check says how symbols are bound: once in the server, lazily when asked, or as the user's LD_BIND_NOW says" {
  run -0 "$FORKSRV" check -- "$T/exit_code"
  [ "${lines[4]}" = "binding       once, in the server, before the first fork (LD_BIND_NOW=1 for the server only)" ]
  run -0 "$FORKSRV" check --lazy-binding -- "$T/exit_code"
  [ "${lines[4]}" = "binding       lazily, again in every child (--lazy-binding)" ]
  LD_BIND_NOW=1 run -0 "$FORKSRV" check -- "$T/exit_code"
  [ "${lines[4]}" = "binding       as your LD_BIND_NOW says" ]
}
