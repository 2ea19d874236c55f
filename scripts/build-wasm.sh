#!/usr/bin/env bash
# Builds native/icganKernels.c into the two WebAssembly modules the engine loads
# (src/core/backend/wasmNativeKernels.ts): one importing a plain memory (tfjs-wasm's
# single-threaded build) and one importing a shared memory (its threaded build). The built
# modules are committed, so `npm install` needs no compiler.
#
#   scripts/build-wasm.sh           build into src/core/backend/
#   scripts/build-wasm.sh --check   build into a temporary folder and fail if the result differs
#                                   from the committed modules (skipped, exit 0, without clang 14:
#                                   another clang emits other, equally valid, code)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=native/icganKernels.c
DEST=src/core/backend
CLANG=${CLANG:-clang}
CLANG_MAJOR=14

check=0
[ "${1:-}" = "--check" ] && check=1

if ! command -v "$CLANG" >/dev/null || ! command -v wasm-ld >/dev/null; then
  echo "build-wasm: clang/wasm-ld not found; install clang-$CLANG_MAJOR and lld" >&2
  [ $check = 1 ] && { echo "build-wasm: check skipped"; exit 0; }
  exit 1
fi
major=$("$CLANG" --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
if [ $check = 1 ] && [ "$major" != "$CLANG_MAJOR" ]; then
  echo "build-wasm: clang $major is not clang $CLANG_MAJOR; check skipped"
  exit 0
fi

out=$DEST
if [ $check = 1 ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi

COMMON=(--target=wasm32 -O3 -msimd128 -nostdlib -ffreestanding -fno-builtin
  -Wall -Wextra -Werror
  -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all -Wl,-z,stack-size=0
  -Wl,--initial-memory=65536)

build() { # name, extra flags...
  local name=$1; shift
  "$CLANG" "${COMMON[@]}" "$@" -o "$out/$name" "$SRC"
  # The module must own no memory: no data segments, no shadow stack. Either would live at the
  # same addresses as tfjs-wasm's own data on the shared heap.
  # Captured first: under pipefail, `grep -q` closing the pipe early fails llvm-objdump with
  # SIGPIPE, and the `if` would then never fire.
  local headers code
  headers=$(llvm-objdump -h "$out/$name")
  code=$(llvm-objdump -d "$out/$name")
  if grep -qw DATA <<<"$headers"; then
    echo "build-wasm: $name has a data section" >&2; exit 1
  fi
  if grep -q 'global\.[gs]et' <<<"$code"; then
    echo "build-wasm: $name uses a global (the shadow stack pointer)" >&2; exit 1
  fi
}
build icganKernels.wasm
build icganKernels-shared.wasm -matomics -mbulk-memory -Wl,--shared-memory \
  -Wl,--max-memory=4294967296

if [ $check = 1 ]; then
  for f in icganKernels.wasm icganKernels-shared.wasm; do
    if ! cmp -s "$out/$f" "$DEST/$f"; then
      echo "build-wasm: $DEST/$f differs from a build of $SRC: run scripts/build-wasm.sh" >&2
      exit 1
    fi
  done
  echo "build-wasm: committed modules match the source"
fi
