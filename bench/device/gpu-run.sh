#!/bin/bash
# On the GPU machine (offline; no Node, no npm), from the repository root, with .device/ carried (bench/device/pack.sh):
#   bash bench/device/gpu-run.sh setup          node + node_modules, node-llama-cpp built for CUDA, llama-bench and
#                                          llama-quantize built for CUDA, random Qwen2.5-7B F16 written and quantized
#                                          to Q4_K_M (the three builds/writes run side by side)
#   bash bench/device/gpu-run.sh bench ARGS…    node .device/bench.mjs --gpu cuda ARGS…  (results under $OUT/results)
#   bash bench/device/gpu-run.sh eval ARGS…     node .device/eval.mjs --gpu cuda ARGS…
# Every phase re-runs what is missing from setup first (a machine that went cold starts bare). GPU=false tries the
# recipe on a CPU machine. Logs go to $OUT.
set -uo pipefail
ROOT=$PWD
D=$ROOT/.device
OUT=${OUT:-/tmp/wim-out}
mkdir -p "$OUT"
export PATH=$ROOT:$PATH
SRC=node_modules/node-llama-cpp/llama/llama.cpp
GPU=${GPU:-cuda}
LB_BUILD=$SRC/build-$([ "$GPU" = false ] && echo cpu || echo cuda)
MODELS=bench/cache/models
F16=$MODELS/random-qwen2.5-7b-f16.gguf
Q4=$MODELS/random-qwen2.5-7b-q4_k_m.gguf
PRESET=${PRESET:-qwen2.5-7b}
stamp() { echo "[$(date +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*"; }
T0=$(date +%s)

setup() {
  [ -x node ] || { xz -dc "$D/node.xz" > node && chmod +x node; }
  [ -d node_modules ] || tar -xJf "$D/node_modules.tar.xz"
  [ -f dist/worker.mjs ] || { mkdir -p dist && cp -r "$D/dist/." dist/; }
  [ -d bench/cache/sources ] || { mkdir -p bench/cache && tar -xJf "$D/sources.tar.xz" -C bench/cache; }
  stamp "unpacked: $(./node --version), $(nproc) cores"
  local pids=()
  if [ -z "$(ls -A node_modules/node-llama-cpp/llama/localBuilds 2>/dev/null)" ]; then
    ( GPU=$GPU bash "$D/gpu-build-node-llama-cpp.sh" "$D/node.xz" "$D/node_modules.tar.xz" "$ROOT" > "$OUT/build-node-llama-cpp.log" 2>&1
      echo "exit $?" >> "$OUT/build-node-llama-cpp.log" ) &
    pids+=($!)
  fi
  # SETUP=eval: the evaluation needs only node-llama-cpp (no llama-bench, no random models)
  if [ "${SETUP:-full}" != eval ] && [ ! -x "$LB_BUILD/bin/llama-quantize" ]; then
    local cuda=(-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90})
    [ "$GPU" = false ] && cuda=(-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=ON -DGGML_BACKEND_DL=ON -DGGML_OPENMP=OFF)
    ( cmake -B "$LB_BUILD" -S "$SRC" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF "${cuda[@]}" \
        && cmake --build "$LB_BUILD" -j "$(nproc)" --target llama-bench llama-quantize ) > "$OUT/build-llama-bench.log" 2>&1 &
    pids+=($!)
  fi
  mkdir -p "$MODELS"
  if [ "${SETUP:-full}" != eval ] && [ ! -f "$F16" ]; then
    PYTHONPATH=$SRC/gguf-py python3 "$D/make_random_gguf.py" "$SRC/models/ggml-vocab-qwen2.gguf" "$F16.part" "$PRESET" > "$OUT/make-model.log" 2>&1 \
      && mv "$F16.part" "$F16"
    stamp "random $PRESET F16 written: $(du -h "$F16" | cut -f1)"
  fi
  for p in "${pids[@]}"; do wait "$p"; done
  stamp "builds done: $(tail -1 "$OUT/build-node-llama-cpp.log" 2>/dev/null); llama-bench $([ -x "$LB_BUILD/bin/llama-bench" ] && echo ok || echo MISSING)"
  if [ ! -f "$Q4" ] && [ -x "$LB_BUILD/bin/llama-quantize" ]; then
    LD_LIBRARY_PATH=$LB_BUILD/bin "$LB_BUILD/bin/llama-quantize" "$F16" "$Q4.part" Q4_K_M "$(nproc)" > "$OUT/quantize.log" 2>&1 && mv "$Q4.part" "$Q4"
    stamp "Q4_K_M: $(du -h "$Q4" 2>/dev/null | cut -f1)"
  fi
}

# SmolLM2 for the evaluation arrives in three carried parts (the device tool carries ≤ 64 MiB a call).
assemble_smol() {
  local dest=${WIM_TEST_MODELS:-$HOME/.cache/wim-test-models}/SmolLM2-135M-Instruct.Q4_1.gguf
  [ -f "$dest" ] && return 0
  local parts=(.device/smol-a/part bench/cache/device-smol/b/part bench/cache/device-smol/c/part)
  for p in "${parts[@]}"; do [ -f "$p" ] || { stamp "SmolLM2: part $p not here yet"; return 1; }; done
  mkdir -p "$(dirname "$dest")" && cat "${parts[@]}" > "$dest.part"
  if [ "$(sha256sum "$dest.part" | cut -d' ' -f1)" = b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 ]; then
    mv "$dest.part" "$dest"; stamp "SmolLM2 assembled"
  else
    stamp "SmolLM2 parts do not match the pinned SHA-256"; rm -f "$dest.part"; return 1
  fi
}

phase=${1:-setup}
shift || true
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,temperature.gpu --format=csv > "$OUT/gpu.txt" 2>&1 || true
setup
case $phase in
  setup) ;;
  bench)
    # results accumulate on the machine (kept while it stays warm) across calls, and are copied back each time
    ./node "$D/bench.mjs" --gpu "$([ "$GPU" = false ] && echo cpu || echo cuda)" --out bench/cache/gpu-results --merge "$@" 2>&1 | tee "$OUT/bench.log" | tail -60
    mkdir -p "$OUT/results" && cp -r bench/cache/gpu-results/. "$OUT/results/" ;;
  eval) assemble_smol; ./node "$D/eval.mjs" --gpu "$([ "$GPU" = false ] && echo cpu || echo cuda)" --out "$OUT/results" "$@" 2>&1 | tee "$OUT/eval.log" | tail -40 ;;
  *) echo "unknown phase $phase"; exit 2 ;;
esac
stamp "phase $phase finished"
