#!/usr/bin/env bash
# Prepares the webgpu device check for a lent GPU machine that has no Node and no registry:
# one folder (.cache/device-check, gzipped tar < 64 MiB) with this Node binary, the check bundled
# by esbuild, the linux-x64 dawn.node with its package files, and the Vulkan loader.
# Usage: bench/deviceCheck/prepare.sh   then, there: bash device-check/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=.cache/device-check
rm -rf "$OUT" && mkdir -p "$OUT/node_modules" "$OUT/lib"
cp "$(command -v node)" "$OUT/node"
npx esbuild bench/deviceCheck/deviceCheck.ts --bundle --platform=node --target=node20 \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --external:onnxruntime-node --external:sharp --outfile="$OUT/deviceCheck.js" --log-level=warning
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$OUT/"
# webgpu: its JS and only this platform's dawn.node.
mkdir -p "$OUT/node_modules/webgpu/dist/linux-x64"
cp node_modules/webgpu/{package.json,index.js,LICENSE.md} "$OUT/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$OUT/node_modules/webgpu/dist/linux-x64/"
# The loader only: the GPU's own driver brings its ICD (nvidia_icd.json).
cp -L "$(ldconfig -p | awk '/libvulkan.so.1 /{print $NF; exit}' || true)" "$OUT/lib/" 2>/dev/null ||
  cp -L .cache/lavapipe/lib/libvulkan.so.1 "$OUT/lib/"
cp bench/deviceCheck/run.sh "$OUT/run.sh"
tar -C .cache -czf .cache/device-check.tar.gz device-check
size=$(stat -c %s .cache/device-check.tar.gz)
echo "device check: .cache/device-check.tar.gz, $((size / 1048576)) MiB"
test "$size" -lt $((64 * 1048576))
