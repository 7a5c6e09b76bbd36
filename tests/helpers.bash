# Shared by every .bats file: where the build is, a private TMPDIR per test, inputs, and the two
# checks most tests end with: the server's outcomes equal plain fork+exec's, and nothing is left over.
bats_require_minimum_version 1.5.0

B="${FORKSRV_BUILD:?run the suite through make test or scripts/run-tests.sh}"
FORKSRV="$B/forksrv"
T="$B/tests"

setup() {
  export TMPDIR="$BATS_TEST_TMPDIR/tmp"
  mkdir -p "$TMPDIR" "$BATS_TEST_TMPDIR/in"
  export PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
  unset LD_PRELOAD ASAN_OPTIONS FORKSRV_FIFO_IN FORKSRV_FIFO_OUT FORKSRV_DEBUG
}

# Every test ends by checking that nothing of forksrv's is left (the matrix's rule: no FIFO or
# directory, no process of a target), then clears whatever a failed test left for the next one. A
# file with more to clear defines its own teardown, which calls this.
teardown() { forksrv_teardown; }
forksrv_teardown() {
  unset LD_PRELOAD FORKSRV_FIFO_IN FORKSRV_FIFO_OUT FORKSRV_DEBUG
  local clean=0
  assert_no_leftovers || clean=$?
  pkill -KILL -f "^$T/" 2>/dev/null || true
  return "$clean"
}

# input NAME CONTENT: a file holding CONTENT (no newline), path printed.
input() {
  printf '%s' "$2" >"$BATS_TEST_TMPDIR/in/$1"
  echo "$BATS_TEST_TMPDIR/in/$1"
}

# corpus ITEM...: a directory with one input per ITEM, named 10, 11, ... so that they sort in the
# order given; its path printed.
corpus() {
  local dir="$BATS_TEST_TMPDIR/corpus" i=10 x
  mkdir -p "$dir"
  for x in "$@"; do
    printf '%s' "$x" >"$dir/$i"
    i=$((i + 1))
  done
  echo "$dir"
}

# uses_libgone LIB_SOURCE MAIN_SOURCE: in BATS_TEST_TMPDIR (the working directory after it), a program
# ./uses linked against libgone.so, both built from the C given; a test then takes the library away
# or rebuilds it without a symbol.
uses_libgone() {
  cd "$BATS_TEST_TMPDIR"
  echo "$1" >gone.c
  echo "$2" >uses.c
  cc -shared -fPIC -o libgone.so gone.c
  cc -o uses uses.c -L. -lgone -Wl,-rpath,"$BATS_TEST_TMPDIR"
}

# The fields of a --json line that must be equal between the two modes and the direct run (pid and
# times cannot be; how much of a capture was cut is forksrv's own).
outcomes() {
  sed -E 's/"pid":[0-9]+,//; s/,"std(out|err)_cut":[0-9]+//g; s/,"wall_us":[0-9]+,"maxrss_kb":[0-9]+//'
}

# direct_outcomes [FORKSRV OPTIONS] -- TARGET ARGS: each input that forksrv would run (-i files and
# directories, -n, -t), run once per run directly, as the shell runs it (tests/tools/direct), printed
# as outcomes() prints forksrv's --json lines: the reference that shares none of forksrv's plumbing.
direct_outcomes() {
  local inputs=() runs=1 timeout=1000 arg path r
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    arg=$1
    shift
    case $arg in
    -i) inputs+=("$1") ;;
    -n) runs=$1 ;;
    -t) timeout=$1 ;;
    -j | --cpu | --crashes | --start | --junit | --shard | --preload | --verify | --startup-timeout | --input-name) ;;
    *) continue ;;
    esac
    shift
  done
  shift
  local empty="$BATS_TEST_TMPDIR/direct-empty"
  : >"$empty"
  {
    if [ ${#inputs[@]} -eq 0 ]; then
      echo "null $empty"
    else
      for arg in "${inputs[@]}"; do
        if [ -d "$arg" ]; then
          find "$arg" -mindepth 1 -name '.*' -prune -o \( -type f -o \( -type l -xtype f \) \) -print | LC_ALL=C sort
        else
          echo "$arg"
        fi
      done | sed 's/.*/"&" &/'
    fi
  } | while read -r name path; do
    for r in $(seq "$runs"); do
      echo "{\"input\":$name,\"run\":$r,$("$T/tools/direct" "$timeout" "$path" -- "$@")}"
    done
  done
}

# same_as_plain [FORKSRV OPTIONS] -- TARGET ARGS: runs the same inputs directly (direct_outcomes),
# with the server and with --no-server, asserts that both of forksrv's modes give the direct run's
# outcomes line by line and the same exit status, and leaves the server's JSON lines in $output and
# its exit status in $status.
same_as_plain() {
  local direct_out
  direct_out=$(direct_outcomes "$@")
  run --separate-stderr "$FORKSRV" --no-server --json "$@"
  local plain_status=$status plain_out
  plain_out=$(outcomes <<<"$output")
  run --separate-stderr "$FORKSRV" --json "$@"
  local server_out
  server_out=$(outcomes <<<"$output")
  if [ "$server_out" != "$direct_out" ] || [ "$plain_out" != "$direct_out" ] || [ "$status" -ne "$plain_status" ]; then
    echo "server (status $status):"; echo "$server_out"
    echo "--no-server (status $plain_status):"; echo "$plain_out"
    echo "run directly:"; echo "$direct_out"
    return 1
  fi
}

# same_as_plain for a target whose main is the harness main (libforksrv_main.a). Run by a shell, such
# a target answers as libFuzzer's main (its own reports and exit codes: 77 for a crash); run by
# forksrv (FORKSRV_PLAIN=1 in the driver's plain runs) it gives each input's true outcome, and that
# run is the reference the server is held to.
same_as_plain_harness() {
  FORKSRV_PLAIN=1 same_as_plain "$@"
}

# The processes still alive that run one of the test targets.
target_processes() {
  pgrep -f "^$T/" || true
}

# Zombies whose name is one of the test targets' (a zombie has no command line for pgrep to see).
# Those adopted by pid 1 are left out: they were orphaned when something killed a forksrv process
# with SIGKILL (a test's own doing, or afl-fuzz's), and reaping them is init's job, which some
# sandboxes' init does not do.
target_zombies() {
  local names
  names=$(ls "$T" | cut -c1-15 | tr '\n' '|')
  ps -eo stat=,pid=,ppid=,comm= | awk -v names="|$names" '$1 ~ /^Z/ && $3 != 1 && index(names, "|" $4 "|") { print $2 }'
}

# Nothing of forksrv's is left: no run directory in TMPDIR, no target process, no zombie of one.
assert_no_leftovers() {
  local dirs procs zombies tries
  # A driver killed with SIGKILL leaves its run directory to its janitor, which needs a moment.
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    procs=$(target_processes)
    zombies=$(target_zombies)
    dirs=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'forksrv.*')
    [ -z "$procs$zombies$dirs" ] && break
    sleep 0.1
  done
  if [ -n "$dirs" ] || [ -n "$procs" ] || [ -n "$zombies" ]; then
    echo "left behind: dirs [$dirs] processes [$procs] zombies [$zombies]"
    [ -z "$procs" ] || ps -o pid,ppid,stat,args -p "$(echo $procs | tr ' ' ,)"
    return 1
  fi
}

# pids_alive FILE: prints the pids listed in FILE that still exist.
pids_alive() {
  local p
  for p in $(cat "$1"); do
    if kill -0 "$p" 2>/dev/null; then echo "$p"; fi
  done
}

# as_user CMD...: runs CMD as nobody when we are root (root reads and writes everything), else as us.
as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    # Let nobody reach the test's files (they are 644 and their directories 755 anyway).
    chmod o+x "$BATS_RUN_TMPDIR" "$BATS_RUN_TMPDIR/test" "$BATS_TEST_TMPDIR" 2>/dev/null || true
    setpriv --reuid=nobody --regid=nogroup --clear-groups env TMPDIR=/tmp "$@"
  else
    "$@"
  fi
}

# only_stdio COMMAND...: COMMAND with no fd open above 2, as a login shell would start it (bats keeps
# fd 3 open, and a CI runner may hold others).
only_stdio() {
  bash -c 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done; exec "$@"' only_stdio "$@"
}

# said LINE: a line of the server's own stderr as this build words it. `make check` builds the server
# with every line reworded (FORKSRV_REWORDED), which shows that the driver decides from none of them.
said() {
  if [ -n "${FORKSRV_REWORDED:-}" ]; then printf '(reworded) %s' "${1^^}"; else printf '%s' "$1"; fi
}

# eventually CONDITION [SECONDS]: polls CONDITION (shell code, evaluated afresh each time) every
# 20 ms until it holds, for at most SECONDS (default 10): no fixed sleep that is too short under
# load and too long otherwise. Fails naming the condition when it never held.
eventually() {
  local cond=$1 limit=${2:-10} start=$SECONDS
  until eval "$cond"; do
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      echo "never held within ${limit}s: $cond"
      return 1
    fi
    sleep 0.02
  done
}

# The afl++ versions the AFL++ tests run against, each a directory of its tools: Debian 12's on
# PATH (4.04c, the old fork-server model) and, where scripts/test-deps.sh could fetch it into
# FORKSRV_PEERS, Debian 13's (4.21c, the new one).
CURRENT_AFL="${FORKSRV_PEERS:-/nonexistent}/afl++-trixie/bin"
AFLS=(/usr/bin)
[ -x "$CURRENT_AFL/afl-fuzz" ] && AFLS+=("$CURRENT_AFL")

# The afl++ whose tools are in $1 comes first on PATH, and what the last one left in
# $BATS_TEST_TMPDIR/out is gone; AFL_VERSION says which it is.
use_afl() {
  export PATH="$1:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
  rm -rf "$BATS_TEST_TMPDIR/out"
  AFL_VERSION=$(afl-fuzz -h 2>&1 | grep -o '[0-9]\.[0-9]*c' | head -n 1)
}

# page_tables_bounded LIMIT_KB CMD...: runs CMD in a session of its own while watching the page tables
# of every process in it; if one grows above LIMIT_KB, the session is killed at once and the call
# fails saying so (a snapshot that gave a sanitizer's reservation page tables would run the machine
# out of memory). Otherwise CMD's status. The largest VmPTE seen goes to $BATS_TEST_TMPDIR/max_pte.
page_tables_bounded() {
  local limit=$1 pid p v max=0
  shift
  setsid "$@" 3>&- &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for p in $(pgrep -s "$pid"); do
      v=$(awk '/^VmPTE:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
      [ "${v:-0}" -le "$max" ] || max=$v
      echo "$max" >"$BATS_TEST_TMPDIR/max_pte"
      if [ "${v:-0}" -gt "$limit" ]; then
        pkill -KILL -s "$pid"
        echo "page tables of pid $p grew to $v kB, above $limit kB: killed" >&2
        wait "$pid"
        return 99
      fi
    done
    sleep 0.02
  done
  wait "$pid"
}
