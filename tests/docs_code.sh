#!/usr/bin/env bash
# The docs' code compiles, and prints what the docs show. Every ```cpp block of the given Markdown pages is built
# against the installed package, as an outside project would build it; a program followed by a block marked as
# its output is run and must print exactly that.
#
# On the line before each ```cpp fence a page says what the block is, in an HTML comment the reader does not see:
#   <!-- compile: program -->                  a whole program
#   <!-- compile: declarations -->             classes and functions: visible to the page's later blocks too
#   <!-- compile: statements -->               statements, run in main() after the page's declarations so far
#   <!-- compile: statements; given: CODE -->  the same, after CODE (what the text around the block stands for)
#   <!-- compile: no; why: REASON -->           not compiled (e.g. a synopsis of a header), and why
# A block without a marker fails the test. A plain ``` block preceded by <!-- output --> is the output of the
# last program or statements block before it (compared line by line, trailing spaces aside).
#
# Usage: docs_code.sh PREFIX WORK PAGE...   (PREFIX: where tapegrad is installed; WORK: a scratch folder)
set -uo pipefail
prefix=$1 work=$2
shift 2
rm -rf "$work"
mkdir -p "$work/src"
failures=0
count=0
pages=0
prelude='#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
namespace tg = tapegrad;
'
: >"$work/blocks.txt"     # name<TAB>page:line, one per block built
: >"$work/outputs.txt"    # name<TAB>expected-output file
for page in "$@"; do
  # Split the page into its blocks: each becomes KIND<TAB>LINE<TAB>EXTRA and the code in block-N.txt.
  awk -v dir="$work" -v page="$page" -v base="b$((++pages))_$(basename "$page" .md | tr -c 'A-Za-z0-9\n' '_')" '
    function flush_marker() { marker = "" }
    /^<!-- (compile|output).*-->$/ { marker = $0; next }
    /^```cpp[[:space:]]*$/ && !inside {
      inside = 1; kind = "cpp"; n++; file = sprintf("%s/%s_%d.txt", dir, base, n)
      printf "" > file
      printf "%s\t%s\t%d\t%s\n", base "_" n, page, NR, marker >> (dir "/index.txt")
      flush_marker(); next
    }
    /^```/ && !inside {
      inside = 1; kind = "plain"
      if (marker ~ /^<!-- output/) {
        n++; file = sprintf("%s/%s_%d.txt", dir, base, n)
        printf "" > file
        printf "%s\t%s\t%d\t%s\n", base "_" n, page, NR, marker >> (dir "/index.txt")
      } else file = ""
      flush_marker(); next
    }
    /^```/ && inside { inside = 0; next }
    inside && file != "" { print >> file; next }
    !inside && $0 != "" { flush_marker() }
  ' "$page"
done
[ -f "$work/index.txt" ] || { echo "FAIL: no code blocks found in $*"; exit 1; }

declare -A declarations  # page -> its declaration blocks so far
last_program=""
while IFS=$'\t' read -r name page line marker; do
  page_base=$page
  text="$work/$name.txt"
  where="$page:$line"
  case "$marker" in
    "<!-- compile: program -->")
      cp "$text" "$work/src/$name.cpp"
      last_program=$name ;;
    "<!-- compile: declarations -->")
      declarations[$page_base]+="$(cat "$text")"$'\n'
      { printf '%s\n%s\nint main() {}\n' "$prelude" "${declarations[$page_base]}"; } >"$work/src/$name.cpp" ;;
    "<!-- compile: statements"*)
      given=""
      [[ $marker == *"; given: "* ]] && given=${marker#*; given: } && given=${given% -->}
      { printf '%s\n%s\nint main() {\n%s\n' "$prelude" "${declarations[$page_base]:-}" "$given"
        cat "$text"; printf '}\n'; } >"$work/src/$name.cpp"
      last_program=$name ;;
    "<!-- compile: no; why: "*)
      continue ;;
    "<!-- output -->")
      if [ -z "$last_program" ]; then echo "FAIL: $where: an output block with no program before it"
        failures=$((failures + 1)); continue; fi
      printf '%s\t%s\t%s\n' "$last_program" "$text" "$where" >>"$work/outputs.txt"
      continue ;;
    *)
      echo "FAIL: $where: a C++ block without a <!-- compile: ... --> marker (program, declarations, statements or no)"
      failures=$((failures + 1)); continue ;;
  esac
  printf '%s\t%s\n' "$name" "$where" >>"$work/blocks.txt"
  count=$((count + 1))
done <"$work/index.txt"

# One outside project with an executable per block, built against the installed package.
{
  echo 'cmake_minimum_required(VERSION 3.18)'
  echo 'project(tapegrad_docs_code LANGUAGES CXX)'
  echo 'find_package(tapegrad CONFIG REQUIRED)'
  while IFS=$'\t' read -r name where; do
    echo "add_executable($name src/$name.cpp)"
    echo "target_link_libraries($name PRIVATE tapegrad::tapegrad)"
  done <"$work/blocks.txt"
} >"$work/CMakeLists.txt"
cmake -S "$work" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" 2>&1 ||
  { echo "FAIL: configuring the docs' code:"; cat "$work/configure.log"; exit 1; }
while IFS=$'\t' read -r name where; do
  if cmake --build "$work/build" --target "$name" -j"$(nproc)" >"$work/$name.log" 2>&1; then
    echo "ok: $where compiles"
  else
    echo "FAIL: $where does not compile against the installed package:"
    grep -E "error" "$work/$name.log" | head -5
    failures=$((failures + 1))
  fi
done <"$work/blocks.txt"
while IFS=$'\t' read -r program expected where; do
  if [ -x "$work/build/$program" ] && "$work/build/$program" >"$work/$program.out" 2>&1 &&
     diff -u -Z "$expected" "$work/$program.out" >"$work/$program.diff"; then
    echo "ok: $where is what the program prints"
  else
    echo "FAIL: $where differs from what the program prints:"
    cat "$work/$program.diff" 2>/dev/null | head -20
    failures=$((failures + 1))
  fi
done <"$work/outputs.txt"
[ "$count" -gt 0 ] || { echo "FAIL: no block was compiled"; exit 1; }
[ "$failures" -eq 0 ] && echo "PASS: $count blocks compile, every output shown is printed"
exit "$failures"
