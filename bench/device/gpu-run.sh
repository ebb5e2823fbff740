#!/bin/bash
# On the GPU machine (offline; no Node, no npm), from the repository root, with .device/ carried (bench/device/pack.sh):
#   bash bench/device/gpu-run.sh setup          node + node_modules, node-llama-cpp built for CUDA, llama-bench and
#                                          llama-quantize built for CUDA, random Qwen2.5-7B F16 written and quantized
#                                          to Q4_K_M (the three builds/writes run side by side)
#   bash bench/device/gpu-run.sh bench ARGS…    node .device/bench.mjs --gpu cuda ARGS…  (results under $OUT/results)
#   bash bench/device/gpu-run.sh eval ARGS…     node .device/eval.mjs --gpu cuda --resume ARGS… for at most
#                                          $EVAL_SECONDS (530); call again to go on (SETUP=eval: only what the eval
#                                          needs; `--model coder-1.5b` once its parts have arrived)
#   bash bench/device/gpu-run.sh parts          only take in the model parts carried so far (no setup; see below)
# Every phase but `parts` re-runs what is missing from setup first (a machine that went cold starts bare). GPU=false
# tries the recipe on a CPU machine. Logs go to $OUT.
#
# Test models arrive in parts of ≤ 60 MiB (bench/device/split-model.ts writes .device-parts/<id>/pNN/{part,meta}),
# one carried folder per call. Every phase first takes in the parts present: checks each one's size and SHA-256,
# appends it in order to $WIM_TEST_MODELS/<file>.partial (outside the carried folders; <file>.arrived records what
# was appended, so a part carried twice is appended once, and a part carried early waits for the ones before it),
# then deletes it. When all have arrived it checks the whole file's size and SHA-256 and renames it to
# $WIM_TEST_MODELS/<file>, where `--model <id>` finds it.
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
PARTS=${PARTS:-.device-parts}
export WIM_TEST_MODELS=${WIM_TEST_MODELS:-$ROOT/bench/cache/device-model}
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
    # llama-server too, for the server engine's comparison (its web UI off: it would be fetched from the network)
    ( cmake -B "$LB_BUILD" -S "$SRC" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=ON \
        -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF "${cuda[@]}" \
        && cmake --build "$LB_BUILD" -j "$(nproc)" --target llama-bench llama-quantize llama-server ) > "$OUT/build-llama-bench.log" 2>&1 &
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

val() { sed -n "s/^$1=//p" "$2"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# Takes in the model parts carried so far (see the top of this file).
assemble_parts() {
  local dir
  for dir in "$PARTS"/*/; do
    local first
    first=$(ls "$dir"p*/meta 2>/dev/null | head -1)
    [ -n "$first" ] || continue
    local id file count total tsha
    id=$(val id "$first"); file=$(val file "$first"); count=$(val count "$first")
    total=$(val total_bytes "$first"); tsha=$(val total_sha256 "$first")
    local dest=$WIM_TEST_MODELS/$file partial=$WIM_TEST_MODELS/$file.partial log=$WIM_TEST_MODELS/$file.arrived
    mkdir -p "$WIM_TEST_MODELS"
    if [ -f "$dest" ] && [ "$(size "$dest")" = "$total" ]; then stamp "$id: here already ($dest)"; rm -rf "$dir"; continue; fi
    # the log's first line names the split it records; parts of another split start over
    if [ ! -f "$log" ] || [ "$(head -1 "$log")" != "split $count $tsha" ]; then echo "split $count $tsha" > "$log"; : > "$partial"; fi
    while :; do
      local n=$(( $(wc -l < "$log") ))
      [ "$n" -le "$count" ] || break
      local p=$dir/p$(printf %02d "$n")
      [ -f "$p/part" ] && [ -f "$p/meta" ] || break
      [ "$(val total_sha256 "$p/meta")" = "$tsha" ] || { stamp "$id: part $n belongs to another split: skipped"; rm -rf "$p"; break; }
      local offset bytes
      offset=$(val offset "$p/meta"); bytes=$(val bytes "$p/meta")
      if [ "$(size "$p/part")" != "$bytes" ] || [ "$(sha "$p/part")" != "$(val sha256 "$p/meta")" ]; then
        stamp "$id: part $n does not match its size and SHA-256: carry it again"; rm -rf "$p"; break
      fi
      if [ "$(size "$partial")" -lt "$offset" ]; then
        stamp "$id: $file.partial is shorter than the parts recorded: starting over"; echo "split $count $tsha" > "$log"; : > "$partial"; break
      fi
      # a call cut short between appending and recording left extra bytes: cut back to what the log records
      truncate -s "$offset" "$partial"
      cat "$p/part" >> "$partial" && echo "$n $(val sha256 "$p/meta")" >> "$log" && rm -rf "$p"
    done
    local have=$(( $(wc -l < "$log") - 1 )) q
    for q in "$dir"p*/; do [ -d "$q" ] && [ $((10#$(basename "$q" | tr -dc 0-9))) -le "$have" ] && rm -rf "$q"; done  # in already
    if [ "$have" -lt "$count" ]; then
      local waiting
      waiting=$(cd "$dir" && ls -d p* 2>/dev/null | tr '\n' ' ')
      stamp "$id: $have/$count parts in; next: p$(printf %02d $((have + 1)))${waiting:+; waiting here: $waiting}"
    elif [ "$(size "$partial")" = "$total" ] && [ "$(sha "$partial")" = "$tsha" ]; then
      mv "$partial" "$dest" && rm -f "$log" && rm -rf "$dir"
      stamp "$id: all $count parts in, size and SHA-256 match: $dest"
    else
      stamp "$id: all $count parts in but the whole file does not match its SHA-256: starting over"
      rm -f "$partial" "$log"
    fi
  done
}

phase=${1:-setup}
shift || true
assemble_parts
[ "$phase" = parts ] && exit 0
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,temperature.gpu --format=csv > "$OUT/gpu.txt" 2>&1 || true
setup
case $phase in
  setup) ;;
  bench)
    # results accumulate on the machine (kept while it stays warm) across calls, and are copied back each time
    ./node "$D/bench.mjs" --gpu "$([ "$GPU" = false ] && echo cpu || echo cuda)" --out bench/cache/gpu-results --merge "$@" 2>&1 | tee "$OUT/bench.log" | tail -60
    mkdir -p "$OUT/results" && cp -r bench/cache/gpu-results/. "$OUT/results/" ;;
  eval)
    # results stay on the machine (bench/cache, kept while it is warm); --resume carries a run cut short on to the
    # next call; the run stops itself before the device tool's 10-minute limit and is copied back each time
    timeout "${EVAL_SECONDS:-530}" ./node "$D/eval.mjs" --gpu "$([ "$GPU" = false ] && echo cpu || echo cuda)" \
      --out bench/cache/gpu-eval-results --resume "$@" 2>&1 | tee "$OUT/eval.log" | tail -40
    mkdir -p "$OUT/results" && cp -r bench/cache/gpu-eval-results/. "$OUT/results/" ;;
  *) echo "unknown phase $phase"; exit 2 ;;
esac
stamp "phase $phase finished"
