#!/bin/sh
# build.sh — builds the libFuzzer targets with clang (`make fuzz` runs it).
# Usage: build.sh SRCDIR BUILDDIR. Needs clang (apt-get install clang).
set -eu
srcdir=$1
builddir=$2
CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "build.sh: $CC not found: apt-get install clang" >&2
    exit 1
fi
sources=$(find "$srcdir/src/util" "$srcdir/src/dsl" "$srcdir/src/compile" "$srcdir/src/engine" \
               -name '*.c' | LC_ALL=C sort)
"$CC" -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
    -include "$builddir/config.h" \
    -I"$srcdir/include" -I"$srcdir/src" -I"$builddir/src" \
    $sources "$builddir/src/dsl/parser.c" "$builddir/src/dsl/lexer.c" \
    "$srcdir/tests/fuzz/fuzz_parser.c" -lm \
    -o "$builddir/tests/fuzz/fuzz_parser"
echo "built $builddir/tests/fuzz/fuzz_parser"
