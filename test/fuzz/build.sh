#!/usr/bin/env bash
# Builds the libFuzzer targets (Debian's clang: packages clang and libclang-rt-dev) into
# OUT (default test/fuzz/build): fuzz_page (answer bodies -> rows -> cells) and fuzz_chave
# (the payment checks). The bank layer is compiled once, with the same sanitizers.
#   test/fuzz/build.sh [OUT]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$HERE/build}
CXX=${CXX:-clang++}
mkdir -p "$OUT/obj"
FLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
       -fsanitize-ignorelist="$HERE/ubsan_ignore.txt" -I"$ROOT/src" -DPIX_BANK_ONLY -D_GNU_SOURCE)
objs=()
pids=()
for src in "$ROOT"/src/bank/*.cpp; do
	obj="$OUT/obj/$(basename "${src%.cpp}").o"
	objs+=("$obj")
	# Rebuilt when the source or any bank header is newer than the object.
	if [ ! -e "$obj" ] || [ -n "$(find "$src" "$ROOT"/src/bank/*.hpp "$HERE/build.sh" "$HERE/ubsan_ignore.txt" -newer "$obj" 2>/dev/null | head -1)" ]; then
		# fuzzer-no-link: the objects get coverage, the one main comes from the targets' link.
		"$CXX" "${FLAGS[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}" \
			-c "$src" -o "$obj" &
		pids+=($!)
		if [ "${#pids[@]}" -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
	fi
done
for p in "${pids[@]}"; do wait "$p"; done
LIBS=($(curl-config --libs) -lssl -lcrypto)
for t in fuzz_page fuzz_chave; do
	"$CXX" "${FLAGS[@]}" "$HERE/$t.cpp" "${objs[@]}" "${LIBS[@]}" -o "$OUT/$t"
done
echo "built $OUT/fuzz_page $OUT/fuzz_chave"
