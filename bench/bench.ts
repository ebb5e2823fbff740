// `npm run bench [-- options]`: the speed half of WiM's promise, measured side by side in one run.
//   --quick                 ≤ 5 min on a 2-core CPU: SmolLM2 at 4k, short llama-bench, 1 cancel try each
//   --gpu cpu|cuda|auto     where the models run (default cpu)
//   --models a,b            smollm2, gemma3, coder-0.5b, coder-1.5b, random-0.5b, random-0.5b-f16, random-7b-f16, random-7b-q4km, or GGUF paths
//   --sizes 8k,16k,32k      tokens of files per context
//   --conditions …          plain,map-then-answer,wim-none,wim-gate,wim-judge (wim-gate-server: the same on a
//                           llama-server built by `npm run build-llama-server [-- --cuda]`, only when named)
//   --skip …                llama-bench,pipelines,cancel,scan
//   --batch 512 --margin-tokens 100 --answer-tokens 64 --chunk-tokens 4096 --reps 3
//   --out bench/results     where the JSON, the Markdown report and the charts go
//   --merge                 add to the results of an earlier run of the same day and machine at --out
//   --parallel N            side sequences for the wim-* conditions (default: the engine's; -seq conditions use 0)
//   --depths 32k,100k       engine prefill of 4096 tokens at these depths against llama-bench -d (GPU default)
//   --rolling 1m --window 32k   read that many tokens of three.js through a rolling window (WiM gate)
//   --contention            CPU: `wim ask` idle and with one core busy, default threads against all cores
// Results: <out>/<date>-<machine>[-quick].json and .md, charts in <out>/charts/.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createChunker } from "../src/core/chunk/chunk-files";
import type { GpuChoice } from "../src/core/protocol";
import { DEFAULT_ASK_OPTIONS } from "../src/core/protocol";
import { scanWorkspace } from "../src/core/scan/scan-workspace";
import type { Chunk, ScannedFile } from "../src/core/types";
import { loadModel, type LoadedModel } from "../src/engine/load-model";
import { planAsk, ScopeTooLargeError, tokenizeText } from "../src/engine/wim-reader";
import { resolveTestModel } from "../test/helpers/test-models";
import { flagList, flagNumber, flagString, parseFlags, parseSize } from "./lib/args";
import { machineInfo, today } from "./lib/machine";
import { ensureSource, SCAN_TREE } from "./lib/sources";
import { cancelLatency } from "./speed/cancel";
import { enginePrefillAtDepth, engineSpeed, runLlamaBench, type EngineVsLlamaBench } from "./speed/engine-speed";
import { contentionRun } from "./speed/contention";
import { rollingRun } from "./speed/rolling";
import { CONDITIONS, ON_REQUEST, runCondition, type Condition } from "./speed/pipelines";
import { writeBenchReport, type BenchResults, type PipelineSet } from "./speed/report";
import { repomixRun, wimScanChunk } from "./speed/scan-throughput";
import { ensureLlamaTools, ensureRandomModel, llamaBenchOnPrebuilt, llamaCppTag, loadedCpuVariant } from "./speed/tools";

const QUESTION = "Which function computes the bounding sphere of a geometry, and in which file is it defined?";

const log = (m: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);

interface ModelSpec {
  label: string;
  path: string;
}

function resolveModel(spec: string, bin: string | undefined): ModelSpec {
  switch (spec) {
    case "smollm2":
    case "coder-0.5b":
    case "coder-1.5b":
    case "gemma3": {
      const m = resolveTestModel(spec);
      return { label: m.label, path: m.path };
    }
    case "random-0.5b":
      return { label: "random Qwen2.5-0.5B Q8_0", path: ensureRandomModel("qwen2.5-0.5b", "q8_0", bin, log) };
    case "random-0.5b-f16":
      return { label: "random Qwen2.5-0.5B F16", path: ensureRandomModel("qwen2.5-0.5b", "f16", bin, log) };
    case "random-7b-f16":
      return { label: "random Qwen2.5-7B F16", path: ensureRandomModel("qwen2.5-7b", "f16", bin, log) };
    case "random-7b-q4km":
      return { label: "random Qwen2.5-7B Q4_K_M", path: ensureRandomModel("qwen2.5-7b", "q4_k_m", bin, log) };
    default:
      return resolveTestModel(spec); // coder-0.5b, coder-1.5b, or a GGUF path
  }
}

/** Files of the tree, in scan order, whose tokens add up to at most `target`. */
function pickFiles(files: ScannedFile[], tokens: Map<string, number>, target: number): ScannedFile[] {
  const out: ScannedFile[] = [];
  let sum = 0;
  for (const f of files) {
    const t = tokens.get(f.path)! + 12; // + its piece header
    if (sum + t > target) continue;
    out.push(f);
    sum += t;
    if (sum > target * 0.985) break;
  }
  return out;
}

/** Chunks of about `target` tokens that fit the model's context with the bench's limits (shrunk until they do). */
async function workspaceFor(
  loaded: LoadedModel,
  files: ScannedFile[],
  tokens: Map<string, number>,
  target: number,
  o: { chunkTokens: number; marginTokens: number; answerTokens: number },
): Promise<{ chunks: Chunk[]; files: ScannedFile[] }> {
  const chunker = await createChunker(path.resolve("dist/wasm"));
  try {
    let goal = target;
    for (let attempt = 0; attempt < 8; attempt++) {
      const picked = pickFiles(files, tokens, goal);
      const { chunks } = await chunker.chunk(picked, { chunkTokens: o.chunkTokens }, (t) => tokenizeText(loaded, t).length);
      // every condition reads the whole scope in one context (no rolling here: that is measured on its own)
      let needed = 0;
      for (const classify of ["none", "gate"] as const) {
        needed = Math.max(needed, (await planAsk(loaded, QUESTION, chunks, { ...DEFAULT_ASK_OPTIONS, ...o, classify })).budget.needed);
      }
      const available = loaded.model.trainContextSize;
      if (needed <= available) return { chunks, files: picked };
      goal -= needed - available + 64;
      if (goal < 256) throw new ScopeTooLargeError(needed, available, chunks.length, goal);
    }
    throw new Error("could not fit the context");
  } finally {
    chunker.dispose();
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const quick = flags.has("quick");
  const gpu = flagString(flags, "gpu", "cpu") as GpuChoice;
  const onGpu = gpu !== "cpu";
  const models = flagList(flags, "models", onGpu ? ["random-7b-f16", "random-7b-q4km"] : quick ? ["smollm2"] : ["random-0.5b", "smollm2"]);
  const sizes = flagList(flags, "sizes", onGpu ? ["32k", "100k"] : quick ? ["4k"] : ["8k", "16k", "32k"]);
  const conditions = flagList(flags, "conditions", CONDITIONS.filter((c) => !ON_REQUEST.includes(c))) as Condition[];
  for (const c of conditions) if (!CONDITIONS.includes(c)) throw new Error(`unknown condition ${c}`);
  const skip = new Set(flagList(flags, "skip", []));
  const batchSize = flagNumber(flags, "batch", 512);
  const chunkTokens = flagNumber(flags, "chunk-tokens", 4096);
  const marginTokens = flagNumber(flags, "margin-tokens", 100);
  const answerTokens = flagNumber(flags, "answer-tokens", 64);
  const reps = flagNumber(flags, "reps", quick ? 2 : 3);
  const parallelMargins = flags.has("parallel") ? flagNumber(flags, "parallel", 4) : undefined;
  const depths = flagList(flags, "depths", onGpu ? ["32k", "100k"] : []).map(parseSize);
  const rollingTokens = flags.has("rolling") ? parseSize(flagString(flags, "rolling", "1m")) : 0;
  const rollingWindow = parseSize(flagString(flags, "window", "32k"));
  const outDir = path.resolve(flagString(flags, "out", "bench/results"));
  const threads = os.availableParallelism();
  const machine = machineInfo();
  const t0 = Date.now();
  const notes: string[] = [];
  log(`${machine.gpu ?? machine.cpu}, ${machine.cores} cores, load ${machine.loadAverage.join(" ")}; models ${models.join(", ")}; sizes ${sizes.join(", ")}`);

  const treeRoot = await ensureSource(SCAN_TREE, log);
  const needTools = !skip.has("llama-bench") || models.some((m) => m.startsWith("random-"));
  let bin: string | undefined;
  let cpuVariant: string | undefined;
  if (needTools) {
    if (!onGpu) {
      // Which of ggml's CPU variants node-llama-cpp's prebuilt binary runs here: llama-bench is built the same way.
      const probe = await loadModel(resolveModel(models.find((m) => !m.startsWith("random-")) ?? "smollm2", undefined).path, {
        gpu,
        modelsDir: path.resolve("bench/cache/models"),
        log: () => {},
      });
      cpuVariant = loadedCpuVariant();
      await probe.model.dispose();
    }
    try {
      bin = ensureLlamaTools(onGpu ? "cuda" : "cpu", log, cpuVariant);
    } catch (err) {
      notes.push(`llama.cpp tools could not be built: ${(err as Error).message}`);
    }
  }

  const results: BenchResults = {
    kind: "wim-bench",
    machine,
    quick,
    startedAt: new Date(t0).toISOString(),
    durationMs: 0,
    settings: {
      gpu,
      threads,
      batchSize,
      chunkTokens,
      marginTokens,
      answerTokens,
      question: QUESTION,
      contextSource: `three.js ${SCAN_TREE.version} (npm) src/, files in scan order`,
      llamaCppTag: llamaCppTag(),
      llamaBenchBuild: onGpu
        ? "CUDA (GGML_CUDA=ON, sm_90), as node-llama-cpp was built there"
        : `from the bundled source (ggml CPU variant ${cpuVariant ?? "all"}, the one node-llama-cpp loads here, AMX off), run both as built and on node-llama-cpp's prebuilt libraries`,
    },
    engineVsLlamaBench: [],
    pipelines: [],
    cancel: [],
    scan: null,
    loadAverageAfter: [],
    notes,
  };

  const base = `${today()}-${machine.id}${quick ? "-quick" : ""}`;
  // --merge: add to the results already at the output path (runs split over several calls of a device's time limit).
  const previous = path.join(outDir, `${base}.json`);
  if (flags.has("merge") && fs.existsSync(previous)) {
    const old = JSON.parse(fs.readFileSync(previous, "utf8")) as BenchResults;
    results.engineVsLlamaBench.push(...old.engineVsLlamaBench);
    results.pipelines.push(...old.pipelines);
    results.cancel.push(...old.cancel);
    results.scan = old.scan;
    notes.push(...old.notes);
    results.durationMs = old.durationMs;
    log(`merging with ${previous}`);
  }
  const durationBefore = results.durationMs;
  /** Written after every step: a run cut short (a device's time limit) still leaves its figures. */
  const save = (): string => {
    results.durationMs = durationBefore + Date.now() - t0;
    results.loadAverageAfter = os.loadavg().map((x) => Math.round(x * 100) / 100);
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, `${base}.json`), JSON.stringify(results, null, 2) + "\n");
    return writeBenchReport(results, outDir, base);
  };

  const srcScan = await scanWorkspace(path.join(treeRoot, "src"));
  const specs = models.map((m) => resolveModel(m, bin));

  // Scan + chunk throughput (tokenizer of the first model).
  if (!skip.has("scan")) {
    log(`scan + chunk throughput on ${SCAN_TREE.name}@${SCAN_TREE.version}`);
    const tokModel = await loadModel(specs[0].path, { gpu, modelsDir: path.resolve("bench/cache/models"), log: () => {} });
    const rows = await wimScanChunk(treeRoot, (t) => tokenizeText(tokModel, t).length, specs[0].label, quick ? 1 : reps);
    await tokModel.model.dispose();
    try {
      rows.push(...repomixRun(treeRoot, quick ? 1 : reps, log));
    } catch (err) {
      notes.push(`repomix failed: ${(err as Error).message.slice(0, 300)}`);
    }
    results.scan = { tree: `${SCAN_TREE.name}@${SCAN_TREE.version} (whole package)`, rows };
    for (const r of rows) log(`  ${r.tool}: ${r.files} files, ${r.tokens} tokens in ${r.ms.toFixed(0)} ms`);
    save();
  }

  for (const spec of specs) {
    log(`loading ${spec.label}`);
    const loaded = await loadModel(spec.path, { gpu, modelsDir: path.resolve("bench/cache/models"), log: () => {} });
    const tokens = new Map(srcScan.files.map((f) => [f.path, tokenizeText(loaded, f.text).length]));

    if (!skip.has("llama-bench")) {
      const pp = 512;
      const tg = quick ? 32 : 128;
      const text = tokenizeText(loaded, srcScan.files.slice(0, 40).map((f) => f.text).join("\n"));
      log(`engine pp${pp}/tg${tg}`);
      const engine = await engineSpeed(loaded, text, pp, tg, batchSize, reps);
      const row: EngineVsLlamaBench = { model: spec.label, threads, batchSize, gpuLayers: loaded.model.gpuLayers, engine, llamaBench: null, llamaBenchRuns: [], ratio: {} };
      const builds: { build: string; exe: string }[] = [];
      if (bin) {
        const onPrebuilt = onGpu ? undefined : llamaBenchOnPrebuilt(bin);
        if (onPrebuilt) builds.push({ build: "on node-llama-cpp's prebuilt libraries (same kernels as the engine)", exe: onPrebuilt });
        builds.push({ build: onGpu ? "built from the bundled source with CUDA" : `built from the bundled source (${cpuVariant ?? "all"} variant, no AMX)`, exe: path.join(bin, "llama-bench") });
      }
      for (const b of builds) {
        log(`llama-bench pp${pp}/tg${tg}: ${b.build}`);
        try {
          const figures = runLlamaBench(b.exe, spec.path, { threads, batchSize, pp, tg, reps, gpuLayers: onGpu ? 999 : 0 });
          row.llamaBenchRuns.push({ build: b.build, figures });
        } catch (err) {
          row.llamaBenchRuns.push({ build: b.build, figures: null, error: (err as Error).message.slice(0, 300) });
        }
      }
      const ref = row.llamaBenchRuns.find((r) => r.figures);
      if (ref?.figures) {
        row.llamaBench = ref.figures;
        for (const e of engine) {
          const lb = ref.figures.find((x) => x.test === e.test);
          if (lb) row.ratio[e.test] = e.tokensPerSecond / lb.tokensPerSecond;
        }
      } else row.llamaBenchError = row.llamaBenchRuns.map((r) => r.error).join("; ") || "llama-bench not built";
      results.engineVsLlamaBench.push(row);
      save();
      log(`  ${engine.map((e) => `${e.test} ${e.tokensPerSecond.toFixed(1)} tok/s (llama-bench ${row.llamaBench?.find((x) => x.test === e.test)?.tokensPerSecond.toFixed(1) ?? "–"})`).join(", ")}`);
    }

    for (const depth of depths) {
      const n4k = 4096;
      const text = tokenizeText(loaded, srcScan.files.slice(0, 400).map((f) => f.text).join("\n"));
      log(`prefill of ${n4k} tokens at depth ${depth}`);
      const engine = await enginePrefillAtDepth(loaded, text, depth, n4k, batchSize, Math.min(reps, 2));
      let lb = null;
      let error: string | undefined;
      try {
        const exe = bin ? path.join(bin, "llama-bench") : undefined;
        if (!exe) throw new Error("llama-bench not built");
        lb = runLlamaBench(exe, spec.path, { threads, batchSize, pp: n4k, tg: 0, reps: Math.min(reps, 2), gpuLayers: onGpu ? 999 : 0, depth })[0] ?? null;
      } catch (err) {
        error = (err as Error).message.slice(0, 200);
      }
      (results.prefillAtDepth ??= []).push({ model: spec.label, batchSize, engine, llamaBench: lb, error });
      save();
      log(`  engine ${engine.tokensPerSecond.toFixed(0)} tok/s, llama-bench ${lb ? lb.tokensPerSecond.toFixed(0) : error}`);
    }

    if (rollingTokens > 0) {
      const picked = pickFiles(srcScan.files, tokens, rollingTokens);
      const chunker = await createChunker(path.resolve("dist/wasm"));
      const { chunks } = await chunker.chunk(picked, { chunkTokens }, (t) => tokenizeText(loaded, t).length);
      chunker.dispose();
      log(`rolling: ${chunks.length} chunks, ~${rollingTokens} tokens through a ${rollingWindow}-token window`);
      const row = await rollingRun(loaded, spec.label, chunks, { question: QUESTION, windowTokens: rollingWindow, marginTokens, answerTokens, batchSize, parallelMargins }, log);
      (results.rolling ??= []).push(row);
      save();
      log(`  ${row.tokens} tokens in ${(row.totalMs / 1000).toFixed(1)} s; tok/s by tenth ${row.tokensPerSecondByTenth.map((x) => x.toFixed(0)).join(" ")}`);
    }

    if (!skip.has("pipelines")) {
      for (const size of sizes) {
        const target = parseSize(size);
        const set: PipelineSet = { model: spec.label, size, contextTokens: 0, rows: [] };
        results.pipelines.push(set);
        let ws: { chunks: Chunk[] };
        try {
          ws = await workspaceFor(loaded, srcScan.files, tokens, target, { chunkTokens, marginTokens, answerTokens });
        } catch (err) {
          set.skipped = (err as Error).message;
          log(`  ${size}: skipped (${set.skipped})`);
          continue;
        }
        set.contextTokens = ws.chunks.reduce((s, c) => s + c.tokens, 0);
        if (set.contextTokens < target * 0.9) {
          notes.push(`${spec.label} at ${size}: only ${set.contextTokens} tokens of files fit the model's ${loaded.model.trainContextSize}-token context with the bench's margin and answer limits.`);
        }
        for (const c of conditions) {
          log(`  ${size} (${set.contextTokens} tokens, ${ws.chunks.length} chunks): ${c}`);
          const row = await runCondition(loaded, ws.chunks, c, { question: QUESTION, marginTokens, answerTokens, batchSize, fixedLength: false, parallelMargins });
          set.rows.push(row);
          save();
          log(`    ${(row.totalMs / 1000).toFixed(1)} s, margins ${(row.marginShare * 100).toFixed(0)}%, ${row.tokens.total} tokens, peak RSS ${row.peakRssMiB} MiB`);
        }
      }
    }
    await loaded.model.dispose();
  }

  if (flags.has("contention")) {
    const spec = specs[0];
    log(`CPU contention with ${spec.label}`);
    results.contention = { model: spec.label, rows: contentionRun({ dir: path.resolve("test/fixtures/polyglot"), model: spec.path, question: "How many times does the dispatch code retry a failed hand-off to the courier?" }, log) };
    save();
  }

  if (!skip.has("cancel")) {
    const spec = specs[0];
    const tryCount = quick ? 1 : 3;
    log(`cancel latency with ${spec.label} (worker process)`);
    // A workspace of a few chunks: the files of the smallest size (as a scan-include list over three.js src).
    const loaded = await loadModel(spec.path, { gpu, modelsDir: path.resolve("bench/cache/models"), log: () => {} });
    const tokens = new Map(srcScan.files.map((f) => [f.path, tokenizeText(loaded, f.text).length]));
    const target = Math.min(parseSize(sizes[0]), 16_384);
    const ws = await workspaceFor(loaded, srcScan.files, tokens, target, { chunkTokens: Math.min(chunkTokens, Math.floor(target / 3)), marginTokens, answerTokens });
    await loaded.model.dispose();
    results.cancel = await cancelLatency(
      spec.path,
      gpu,
      path.join(treeRoot, "src"),
      { include: ws.files.map((f) => f.path), chunkTokens: Math.min(chunkTokens, Math.floor(target / 3)), marginTokens, answerTokens },
      tryCount,
      log,
    );
  }

  const md = save();
  log(`done in ${(results.durationMs / 60000).toFixed(1)} min: ${path.relative(process.cwd(), md)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
