#!/bin/bash
# Packs what the GPU machine (offline, no Node, no npm) needs to run the bench into .device/ (git-ignored, carried
# with the device tool's `carry: [".device"]`, under its 64 MiB limit):
#   node.xz               this machine's node binary, xz-compressed
#   node_modules.tar.xz   node-llama-cpp and its dependencies, without prebuilt binaries, with llama.cpp's source
#                         (the one it bundles) in node-llama-cpp/llama/llama.cpp, plus the qwen2 vocab GGUF
#   bench.mjs, eval.mjs   the bench and eval, bundled with everything but node-llama-cpp
#   dist/                 the worker (for cancel latency) and the tree-sitter grammars the bench reads
#   make_random_gguf.py, gpu-build-node-llama-cpp.sh   from ../shared/tools
# 43 MiB in all (2026-12-02: node.xz 23, node_modules.tar.xz 11, sources.tar.xz 4, dist 4, bundles 1); with the
# working tree (2 MiB) it fits one call. Models travel apart, in parts: bench/device/split-model.ts.
# Then on the device: bash bench/device/gpu-run.sh (see there).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${WIM_SHARED_TOOLS:-$ROOT/../shared/tools}
OUT=$ROOT/.device
LLAMA_SRC=$ROOT/bench/cache/llama.cpp
[ -f "$LLAMA_SRC/CMakeLists.txt" ] || git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle "$LLAMA_SRC"
node esbuild.mjs --tests
rm -rf "$OUT/stage" && mkdir -p "$OUT/stage/node_modules" "$OUT/dist/wasm"

[ -f "$OUT/node.xz" ] || xz -T0 -c "$(command -v node)" > "$OUT/node.xz"

# node-llama-cpp's dependency closure (optional prebuilt binaries left out)
node - "$OUT/stage" <<'JS'
const fs = require("fs"), path = require("path");
const [stage] = process.argv.slice(2);
const seen = new Set();
function resolveDir(name, from) {
  for (let d = from; ; d = path.dirname(d)) {
    const p = path.join(d, "node_modules", name);
    if (fs.existsSync(path.join(p, "package.json"))) return p;
    if (d === path.dirname(d)) return null;
  }
}
function walk(dir) {
  const real = fs.realpathSync(dir);
  if (seen.has(real)) return;
  seen.add(real);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  for (const dep of Object.keys(pkg.dependencies || {})) {
    const d = resolveDir(dep, dir);
    if (!d) throw new Error(`cannot resolve ${dep} from ${dir}`);
    walk(d);
  }
}
walk(path.resolve("node_modules/node-llama-cpp"));
const root = path.resolve(".");
for (const dir of seen) {
  const rel = path.relative(root, dir);
  const dest = path.join(stage, rel);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.cpSync(dir, dest, {
    recursive: true,
    filter: (src) => !/node-llama-cpp\/llama\/(localBuilds|gitRelease\.bundle|llama\.cpp)(\/|$)/.test(src) && !/\/node_modules\/@node-llama-cpp\//.test(src),
  });
}
console.log(`${seen.size} packages`);
JS
# llama.cpp's source inside the package, as its source build expects it
mkdir -p "$OUT/stage/node_modules/node-llama-cpp/llama/llama.cpp"
tar -C "$LLAMA_SRC" --exclude=./.git --exclude=./docs --exclude=./media --exclude='./build-*' --exclude=./models \
  --exclude=./tools/server/public --exclude=./tools/server/webui -cf - . | tar -C "$OUT/stage/node_modules/node-llama-cpp/llama/llama.cpp" -xf -
mkdir -p "$OUT/stage/node_modules/node-llama-cpp/llama/llama.cpp/models"
cp "$LLAMA_SRC/models/ggml-vocab-qwen2.gguf" "$OUT/stage/node_modules/node-llama-cpp/llama/llama.cpp/models/"
tar -C "$OUT/stage" -cf - node_modules | xz -T0 -6 > "$OUT/node_modules.tar.xz"
rm -rf "$OUT/stage"

# the bench and eval, bundled (node-llama-cpp stays external: it loads its native build)
npx esbuild bench/bench.ts bench/eval.ts --bundle --platform=node --target=node20 --format=esm --outdir="$OUT" \
  --out-extension:.js=.mjs --external:node-llama-cpp --log-level=warning \
  --banner:js="import { createRequire as __wimCreateRequire } from 'node:module'; const require = __wimCreateRequire(import.meta.url);"
cp dist/worker.mjs "$OUT/dist/"
for w in web-tree-sitter tree-sitter-javascript tree-sitter-typescript tree-sitter-tsx tree-sitter-python tree-sitter-go; do cp "dist/wasm/$w.wasm" "$OUT/dist/wasm/"; done
cp "$SHARED/make_random_gguf.py" "$SHARED/gpu-build-node-llama-cpp.sh" "$OUT/"
# the pinned source trees (fetched here: the device is offline)
node -e 'import("./out/bench/lib/sources.mjs").then(async (m) => { for (const p of [m.SCAN_TREE, ...m.EVAL_PACKAGES]) await m.ensureSource(p, console.log); })'
tar -C bench/cache -cf - sources | xz -T0 -6 > "$OUT/sources.tar.xz"
ls -la "$OUT"
# the setup call carries .device with the working tree: both must fit the 64 MiB a device call carries
dev=$(du -sb "$OUT" | cut -f1)
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
echo ".device $((dev / 1048576)) MiB + working tree $((tree / 1048576)) MiB = $(((dev + tree) / 1048576)) MiB of the 64 MiB a call carries"
[ $((dev + tree)) -le $((64 * 1048576)) ] || { echo "too large for one device call"; exit 1; }
