#!/bin/sh
# build.sh — builds the libFuzzer targets with clang (`make fuzz` runs it).
# Usage: build.sh SRCDIR BUILDDIR. Needs clang (apt-get install clang).
#
# The library's sources are compiled once, instrumented (fuzzer-no-link,
# ASan, UBSan; undefined behaviour aborts, so the fuzzer keeps it as a crash),
# into a static archive BUILDDIR/tests/fuzz/obj/libweir-fuzz.a,
# so each target links only the members it needs (and not, say, the
# libraries an engine file it never calls would want). Targets are linked
# with clang++, since libweir holds C++ (the simdjson shim of the decoder).
set -eu
srcdir=$1
builddir=$2
CC=${FUZZ_CC:-clang}
CXX=${FUZZ_CXX:-clang++}
for tool in "$CC" "$CXX"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build.sh: $tool not found: apt-get install clang" >&2
        exit 1
    fi
done
simdjson_cflags=$(pkg-config --cflags simdjson 2>/dev/null || echo -DSIMDJSON_THREADS_ENABLED=1)
simdjson_libs=$(pkg-config --libs simdjson 2>/dev/null || echo -lsimdjson)
# the engine builds alerts' JSON with yajl (fuzz_snapshot reaches it)
yajl_libs=$(pkg-config --libs yajl 2>/dev/null || echo -lyajl)
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
includes="-I$srcdir/include -I$srcdir/src -I$builddir/src"
objdir=$builddir/tests/fuzz/obj
mkdir -p "$objdir"

# One object per source; the path is part of the name (dsl/check.c ->
# dsl_check.o) so equal file names in two layers cannot collide.
objects=
compile() {
    src=$1
    rel=${src#"$2"/}
    obj=$objdir/$(echo "$rel" | tr '/' '_').o
    case $src in
    *.cc) "$CXX" -g -O1 -std=c++17 -fsanitize=fuzzer-no-link $san $simdjson_cflags \
              $includes -c "$src" -o "$obj" ;;
    *)    "$CC" -g -O1 -std=gnu11 -fsanitize=fuzzer-no-link $san \
              -include "$builddir/config.h" $includes -c "$src" -o "$obj" ;;
    esac
    objects="$objects $obj"
}
for src in $(find "$srcdir/src/util" "$srcdir/src/dsl" "$srcdir/src/compile" \
                  "$srcdir/src/engine" -name '*.c' -o -name '*.cc' | LC_ALL=C sort); do
    compile "$src" "$srcdir/src"
done
compile "$builddir/src/dsl/parser.c" "$builddir/src"
compile "$builddir/src/dsl/lexer.c" "$builddir/src"

archive=$objdir/libweir-fuzz.a
rm -f "$archive"
${AR:-ar} rcs "$archive" $objects

for target in fuzz_parser fuzz_decoder fuzz_snapshot; do
    "$CC" -g -O1 -std=gnu11 -fsanitize=fuzzer $san -include "$builddir/config.h" $includes \
        -DWEIR_SRCDIR="\"$(cd "$srcdir" && pwd)\"" \
        -c "$srcdir/tests/fuzz/$target.c" -o "$objdir/$target.o"
    "$CXX" -fsanitize=fuzzer $san "$objdir/$target.o" "$archive" $simdjson_libs $yajl_libs -lm \
        -o "$builddir/tests/fuzz/$target"
    echo "built $builddir/tests/fuzz/$target"
done
