#!/usr/bin/env bats
# The documentation against the program: --help and forksrv(1) name the same options and the README
# only those, the README stays short enough to read top to bottom, and the links of the README and
# docs/ lead somewhere.
load helpers

REPO="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"

# The options --help lists, one per line, sorted: the option lines are those indented 2 spaces and
# starting with a short option, or 6 and starting with a long one; descriptions are indented 28.
help_options() {
  "$FORKSRV" --help | sed -nE 's/^(  -[A-Za-z](, --[a-z][a-z-]*)?|      --[a-z][a-z-]*).*/\1/p' |
    grep -oE -- '--?[A-Za-z][a-z-]*' | LC_ALL=C sort -u
}

# The options forksrv(1) describes: the tags of its OPTIONS list, as mandoc renders them (so any mdoc
# spelling of a tag counts), overstrike removed; a tag ends where two spaces start its description.
man_options() {
  mandoc -T ascii "$REPO/driver/forksrv.1" | sed 's/.\x08//g' | sed -n '/^OPTIONS$/,/^[A-Z]/p' |
    sed -nE 's/^     (-.*)$/\1/p' | sed 's/  .*//' | grep -oE -- '(^|[ ,])--?[A-Za-z][a-z-]*' |
    sed 's/^[ ,]//' | LC_ALL=C sort -u
}

# Option words in text: a dash or two and a letter, after the start, a space or punctuation (so
# that "start-up" or "per-execution" are not options).
option_words() {
  grep -oE -- '(^|[][ ,(|/])--?[A-Za-z][A-Za-z-]*' | sed -E 's/^[][ ,(|/]//' | LC_ALL=C sort -u
}

# The README's synopsis: the fenced block that starts with "forksrv [OPTIONS]".
readme_synopsis() {
  awk '/^```/ { if (inblock) { if (syn) exit; inblock = 0 } else { inblock = 1; first = 1 }; next }
       inblock && first { first = 0; syn = ($0 ~ /^forksrv \[OPTIONS\]/) }
       inblock && syn' "$REPO/README.md"
}

# The forksrv command lines in the README's code blocks (shell and CI YAML alike), up to their "--":
# what follows is the target's.
readme_commands() {
  awk '/^```/ { inblock = !inblock; next }
       inblock && match($0, /(^|[-:] )forksrv /) { s = substr($0, RSTART); sub(/^[-:] /, "", s); sub(/ -- .*/, "", s); print s }' \
    "$REPO/README.md"
}

# Relative links in a Markdown file, one per line: targets of "](...)" with no scheme and not only
# an anchor.
relative_links() {
  grep -oE '\]\([^)]+\)' "$1" | sed -E 's/^\]\(//; s/\)$//' | grep -vE '^([a-z]+:|#)' || true
}

# GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens.
anchors() {
  sed -nE 's/^#+ +//p' "$1" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}

# none FILE WHAT: FILE is empty; else says WHAT and lists it, so a failure names the culprits.
none() {
  [ ! -s "$1" ] || { echo "$2:"; cat "$1"; return 1; }
}

@test "every option --help lists is described in forksrv(1)" {
  help_options >"$BATS_TEST_TMPDIR/help"
  man_options >"$BATS_TEST_TMPDIR/man"
  [ -s "$BATS_TEST_TMPDIR/help" ]
  LC_ALL=C comm -23 "$BATS_TEST_TMPDIR/help" "$BATS_TEST_TMPDIR/man" >"$BATS_TEST_TMPDIR/missing"
  none "$BATS_TEST_TMPDIR/missing" "in --help, not in forksrv(1)'s OPTIONS"
}

@test "every option forksrv(1) describes is one --help lists" {
  help_options >"$BATS_TEST_TMPDIR/help"
  man_options >"$BATS_TEST_TMPDIR/man"
  [ -s "$BATS_TEST_TMPDIR/man" ]
  LC_ALL=C comm -13 "$BATS_TEST_TMPDIR/help" "$BATS_TEST_TMPDIR/man" >"$BATS_TEST_TMPDIR/extra"
  none "$BATS_TEST_TMPDIR/extra" "in forksrv(1)'s OPTIONS, not in --help"
}

@test "every option the README's synopsis names is one --help lists" {
  help_options >"$BATS_TEST_TMPDIR/help"
  readme_synopsis >"$BATS_TEST_TMPDIR/synopsis"
  [ -s "$BATS_TEST_TMPDIR/synopsis" ]
  option_words <"$BATS_TEST_TMPDIR/synopsis" >"$BATS_TEST_TMPDIR/named"
  [ -s "$BATS_TEST_TMPDIR/named" ]
  LC_ALL=C comm -13 "$BATS_TEST_TMPDIR/help" "$BATS_TEST_TMPDIR/named" >"$BATS_TEST_TMPDIR/unknown"
  none "$BATS_TEST_TMPDIR/unknown" "in the README's synopsis, not in --help"
}

@test "every option the README's example commands give forksrv is one --help lists" {
  help_options >"$BATS_TEST_TMPDIR/help"
  readme_commands >"$BATS_TEST_TMPDIR/commands"
  [ -s "$BATS_TEST_TMPDIR/commands" ]
  option_words <"$BATS_TEST_TMPDIR/commands" >"$BATS_TEST_TMPDIR/used"
  LC_ALL=C comm -13 "$BATS_TEST_TMPDIR/help" "$BATS_TEST_TMPDIR/used" >"$BATS_TEST_TMPDIR/unknown"
  none "$BATS_TEST_TMPDIR/unknown" "in the README's examples, not in --help"
}

@test "the README is at most 250 lines" {
  local n
  n=$(wc -l <"$REPO/README.md")
  [ "$n" -le 250 ]
}

@test "every relative link in the README and in docs/ leads to a file or directory that exists" {
  local md link path
  : >"$BATS_TEST_TMPDIR/broken"
  for md in "$REPO/README.md" "$REPO"/docs/*.md; do
    for link in $(relative_links "$md"); do
      path="$(dirname "$md")/${link%%#*}"
      [ -e "$path" ] || echo "${md#"$REPO"/}: $link" >>"$BATS_TEST_TMPDIR/broken"
    done
  done
  none "$BATS_TEST_TMPDIR/broken" "links to nothing"
}

@test "every anchor a link in the README or in docs/ names is a heading of the Markdown file it leads to" {
  local md link file
  : >"$BATS_TEST_TMPDIR/broken"
  for md in "$REPO/README.md" "$REPO"/docs/*.md; do
    for link in $(grep -oE '\]\([^)]*#[^)]+\)' "$md" | sed -E 's/^\]\(//; s/\)$//' | grep -vE '^[a-z]+:' || true); do
      file="${link%%#*}"
      file="$(dirname "$md")/${file:-$(basename "$md")}"
      [ -f "$file" ] && anchors "$file" | grep -qxF -- "${link#*#}" ||
        echo "${md#"$REPO"/}: $link" >>"$BATS_TEST_TMPDIR/broken"
    done
  done
  none "$BATS_TEST_TMPDIR/broken" "anchors that are no heading"
}
