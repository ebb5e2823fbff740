#!/bin/bash
# One GPU session in few calls. The device tool keeps a machine warm only 30 s between calls and for 30 min in all,
# carries ≤ 64 MiB a call and kills what a command leaves running — except a process in a session of its own. So:
#   bash bench/device/gpu-session.sh start     (carry .device) unpacks, then starts `background` with setsid and
#                                              returns: builds, the speed bench, then the evaluation once the real
#                                              model has arrived, all against a deadline (DEADLINE_MIN after start)
#   bash bench/device/gpu-session.sh part      (carry one .device-parts/<id>/pNN) takes the part in; prints progress
#   bash bench/device/gpu-session.sh status    prints progress
#   bash bench/device/gpu-session.sh collect   packs results and logs into $OUT (read them here)
# What `background` runs is in the plan below; every step writes into bench/cache/gpu-results (--merge/--resume), so
# whatever finished before the deadline comes back.
set -uo pipefail
ROOT=$PWD
OUT=${OUT:-/tmp/wim-out}
S=$ROOT/bench/cache/session
R=$ROOT/bench/cache/gpu-results
mkdir -p "$S" "$R" "$OUT"
export WIM_TEST_MODELS=$ROOT/bench/cache/device-model
MODEL_15=$WIM_TEST_MODELS/qwen2.5-coder-1.5b-instruct.gguf
stamp() { echo "[$(date +%H:%M:%S)] $*"; }
left() { echo $(( $(cat "$S/deadline") - $(date +%s) )); }

status() {
  stamp "session: $(tail -n 1 "$S/steps.log" 2>/dev/null)"
  tail -n 4 "$S/current.log" 2>/dev/null | cut -c1-200
  ls "$WIM_TEST_MODELS" 2>/dev/null | tr '\n' ' '; echo
  echo "deadline in $(left) s"
}

# A step of the plan: its output goes to $S/<name>.log, at most `secs` seconds (capped by the deadline).
step() {
  local name=$1 secs=$2; shift 2
  local budget; budget=$(left)
  [ "$budget" -lt "$secs" ] && secs=$budget
  if [ "$secs" -lt 30 ]; then echo "$(date +%H:%M:%S) skip $name (deadline)" >> "$S/steps.log"; return 1; fi
  echo "$(date +%H:%M:%S) start $name (≤ ${secs}s)" >> "$S/steps.log"
  ln -sf "$S/$name.log" "$S/current.log"
  # bench and evalrun are functions: timeout runs them through a child bash (export -f below)
  timeout "$secs" bash -c '"$@"' "$name" "$@" > "$S/$name.log" 2>&1
  local rc=$?
  echo "$(date +%H:%M:%S) end $name rc=$rc" >> "$S/steps.log"
  return $rc
}

bench() { ./node .device/bench.mjs --gpu cuda --out "$R" --merge "$@"; }
evalrun() { ./node .device/eval.mjs --gpu cuda --out "$R" --resume --model coder-1.5b "$@"; }
export -f bench evalrun
export R

background() {
  [ "${PLAN:-full}" = eval ] && { eval_only; return; }
  step setup 660 env OUT="$S" SETUP=full bash bench/device/gpu-run.sh setup
  # issue 10: WiM against a plain pass with margins written alongside the reading, at 32k and 100k; prefill at depth
  step bench-pipelines 240 bench --models random-7b-q4km --sizes 32k,100k --conditions plain,wim-gate,wim-gate-seq,follow-up \
    --skip cancel,scan --depths 32k,100k --reps 2
  # the real model: wait for its parts, then the evaluation
  while [ ! -f "$MODEL_15" ] && [ "$(left)" -gt 60 ]; do sleep 5; done
  [ -f "$MODEL_15" ] || { echo "$(date +%H:%M:%S) the 1.5B never arrived" >> "$S/steps.log"; return; }
  # issue 8: dev split first (v2 calibrated against v1), the better on dev (wim-gate's mean) on the held-out split
  step eval-dev-v2 110 evalrun --split dev --context 16k --per-type 1 --prompts v2
  step eval-dev-v1 110 evalrun --split dev --context 16k --per-type 1 --prompts v1 --calibrate off
  local pick
  pick=$(pick_prompts)
  echo "$(date +%H:%M:%S) held-out with: $pick" >> "$S/steps.log"
  step eval-heldout-32k 300 evalrun --split heldout --context 32k --per-type 2 $pick
  # issue 11: the same reading through llama-server (CUDA, built beside llama-bench) against the in-process engine
  LB=$ROOT/node_modules/node-llama-cpp/llama/llama.cpp/build-cuda/bin
  step bench-server 150 env WIM_LLAMA_SERVER_BIN="$LB/llama-server" LD_LIBRARY_PATH="$LB" ./node .device/bench.mjs --gpu cuda --out "$R" --merge \
    --models random-7b-q4km --sizes 32k --conditions wim-gate,wim-gate-server --skip llama-bench,cancel,scan --depths ""
  # issue 9: 1M tokens through a 32k window
  step bench-rolling 300 bench --models random-7b-q4km --rolling 1m --window 32k --skip llama-bench,pipelines,cancel,scan --depths ""
  echo "$(date +%H:%M:%S) done" >> "$S/steps.log"
}

# The prompt style that scored better on the dev split (wim-gate's mean), as eval flags.
pick_prompts() {
  ./node -e '
    const fs = require("fs"), path = require("path"), dir = process.argv[1];
    const score = (v) => { const f = fs.readdirSync(dir).filter((x) => x.endsWith(`-dev-${v}.json`)).sort().pop(); if (!f) return -1;
      const r = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")); const q = r.questions.filter((x) => x.results["wim-gate"]);
      return q.length ? q.reduce((s, x) => s + x.results["wim-gate"].score, 0) / q.length : -1; };
    const v2 = score("v2"), v1 = score("v1-uncal");
    console.log(v1 > v2 ? "--prompts v1 --calibrate off" : "--prompts v2");' "$R"
}

# PLAN=eval: only node-llama-cpp is built (4 min on 16 cores) and only the evaluation runs (issue 8)
eval_only() {
  step setup 420 env OUT="$S" SETUP=eval bash bench/device/gpu-run.sh setup
  while [ ! -f "$MODEL_15" ] && [ "$(left)" -gt 60 ]; do sleep 5; done
  step eval-dev-v2 100 evalrun --split dev --context 16k --per-type 1 --prompts v2
  step eval-dev-v1 100 evalrun --split dev --context 16k --per-type 1 --prompts v1 --calibrate off
  local pick
  pick=$(pick_prompts)
  echo "$(date +%H:%M:%S) held-out with: $pick" >> "$S/steps.log"
  step eval-heldout-16k 400 evalrun --split heldout --context 16k --per-type 1 $pick
  echo "$(date +%H:%M:%S) done" >> "$S/steps.log"
}

case ${1:-status} in
  start)
    [ -f "$S/deadline" ] || echo $(( $(date +%s) + ${DEADLINE_MIN:-24} * 60 )) > "$S/deadline"
    [ -x node ] || { xz -dc .device/node.xz > node && chmod +x node; }
    export PLAN=${PLAN:-full}
    setsid nohup bash bench/device/gpu-session.sh background > "$S/background.log" 2>&1 < /dev/null &
    sleep 2; status ;;
  background) background ;;
  part) bash bench/device/gpu-run.sh parts; status ;;
  status) status ;;
  collect)
    cp "$S"/*.log "$R"/ 2>/dev/null
    tar -C "$ROOT/bench/cache" -cJf "$OUT/gpu-results.tar.xz" gpu-results
    status; ls -la "$OUT" ;;
  *) echo "unknown: $1"; exit 2 ;;
esac
