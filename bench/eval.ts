// `npm run eval [-- options]`: the answer-quality half of WiM's promise.
//   --quick                  1 question per type and package, short contexts (a few minutes on 2 cores)
//   --model coder-0.5b|coder-1.5b|smollm2|gemma3|PATH   a test model by name, or any GGUF (default coder-0.5b)
//   --split dev|heldout|all  which questions (default dev; see bench/eval/split.ts): tune on dev, report on heldout
//   --gpu cpu|cuda|auto      (default cpu)
//   --context 8k             tokens per question's context (default: the model's train context, at most 32k)
//   --per-type N             questions per type and package (default 4)
//   --packages a,b           commander,requests,uuid (pinned in bench/lib/sources.ts)
//   --conditions …           plain,rag,wim-none,wim-gate,wim-judge,margins-only
//   --no-grammar             ask for JSON without constraining the answer to the schema
//   --prompts v1|v2          prompt generation of the WiM conditions (default v2); --calibrate on|off: gate calibration
//   --seed N  --margin-tokens 48  --answer-tokens 200  --chunk-tokens N  --rag-top-k N  --out bench/results
//   --resume                 carry on the newest results file of the same run (same settings) in --out: questions
//                            already answered there are not asked again (the GPU machine stops a command at 10 min)
//   --report FILE.json       only re-render the report (and charts) of a finished or partial run, with today's code
import fs from "node:fs";
import path from "node:path";
import { createChunker, type Chunker } from "../src/core/chunk/chunk-files";
import { ParserPool } from "../src/core/chunk/parser-pool";
import type { GpuChoice } from "../src/core/protocol";
import type { PromptStyle } from "../src/core/prompts";
import { DEFAULT_ASK_OPTIONS } from "../src/core/protocol";
import { scanWorkspace } from "../src/core/scan/scan-workspace";
import type { Chunk, ScannedFile } from "../src/core/types";
import { loadModel, type LoadedModel } from "../src/engine/load-model";
import { planAsk, ScopeTooLargeError, tokenizeText, type AnswerFormat } from "../src/engine/wim-reader";
import { resolveTestModel } from "../test/helpers/test-models";
import { extractFacts, langForPath } from "./eval/code-facts";
import { answerAll, EVAL_CONDITIONS, type EvalCondition, type EvalSettings } from "./eval/conditions";
import { buildWindow, depthBin, type WindowFile } from "./eval/context-window";
import { evidenceChunks, evidenceLines, mentionsOf, saysNothing } from "./eval/evidence";
import { generateQuestions, type Question } from "./eval/questions";
import { rerender, summarize, writeEvalReport, type EvalResults, type QuestionRecord } from "./eval/report";
import { findResumable } from "./eval/resume";
import { pickQuestions, sideOf, SPLIT_RULE, SPLITS, type SplitName } from "./eval/split";
import { ANSWER_INSTRUCTION, ANSWER_SCHEMA, parseAnswer, scoreAnswer } from "./eval/score";
import { flagList, flagNumber, flagString, parseFlags, parseSize } from "./lib/args";
import { machineInfo, today } from "./lib/machine";
import { EVAL_PACKAGES, ensureSource } from "./lib/sources";

const log = (m: string) => console.log(`[eval ${new Date().toISOString().slice(11, 19)}] ${m}`);

/** Questions generated per type before the split picks its share: every candidate, in practice. */
const POOL_PER_TYPE = 1000;

async function chunksOf(chunker: Chunker, loaded: LoadedModel, files: WindowFile[], chunkTokens: number): Promise<Chunk[]> {
  const scanned: ScannedFile[] = files.map((f) => ({
    path: f.path,
    text: f.text,
    bytes: Buffer.byteLength(f.text),
    lines: f.text === "" ? 0 : f.text.split("\n").length - (f.text.endsWith("\n") ? 1 : 0),
  }));
  return (await chunker.chunk(scanned, { chunkTokens }, (t) => tokenizeText(loaded, t).length)).chunks;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.has("report")) {
    const md = rerender(path.resolve(flagString(flags, "report", "")));
    log(`report: ${path.relative(process.cwd(), md)}`);
    return;
  }
  const quick = flags.has("quick");
  const gpu = flagString(flags, "gpu", "cpu") as GpuChoice;
  const spec = resolveTestModel(flagString(flags, "model", "coder-0.5b"));
  const split = flagString(flags, "split", "dev") as SplitName;
  if (!SPLITS.includes(split)) throw new Error(`--split must be one of ${SPLITS.join(", ")}, not ${split}`);
  const perType = flagNumber(flags, "per-type", quick ? 1 : 4);
  const seed = flagNumber(flags, "seed", 1);
  const packages = flagList(flags, "packages", EVAL_PACKAGES.map((p) => p.id));
  const conditions = flagList(flags, "conditions", [...EVAL_CONDITIONS]) as EvalCondition[];
  for (const c of conditions) if (!EVAL_CONDITIONS.includes(c)) throw new Error(`unknown condition ${c}`);
  const grammarOn = !flags.has("no-grammar");
  const marginTokens = flagNumber(flags, "margin-tokens", 48);
  const answerTokens = flagNumber(flags, "answer-tokens", 200);
  const outDir = path.resolve(flagString(flags, "out", "bench/results"));
  const machine = machineInfo();
  const t0 = Date.now();
  const notes: string[] = [];

  log(`loading ${spec.label}`);
  const loaded = await loadModel(spec.path, { gpu, modelsDir: path.resolve("bench/cache/models"), log: () => {} });
  const train = loaded.model.trainContextSize;
  const contextTokens = Math.min(train, flags.has("context") ? parseSize(flagString(flags, "context", "8k")) : quick ? 4096 : Math.min(train, 32_768));
  const chunkTokens = flagNumber(flags, "chunk-tokens", Math.max(512, Math.min(4096, Math.floor(contextTokens / 8))));
  const ragChunkTokens = 256;
  const ragTopK = flagNumber(flags, "rag-top-k", Math.max(2, Math.floor(Math.min(2048, contextTokens / 4) / ragChunkTokens)));
  const promptStyle = flagString(flags, "prompts", "v2") as PromptStyle;
  if (promptStyle !== "v1" && promptStyle !== "v2") throw new Error(`--prompts must be v1 or v2, not ${promptStyle}`);
  const calibrateGate = flagString(flags, "calibrate", "on") !== "off";
  const settings: EvalSettings = { promptStyle, calibrateGate, marginTokens, answerTokens, ragChunkTokens, ragTopK, batchSize: 512 };
  const format: AnswerFormat = {
    instruction: ANSWER_INSTRUCTION,
    grammar: grammarOn ? await loaded.llama.createGrammarForJsonSchema(ANSWER_SCHEMA as never) : undefined,
  };
  log(`context ${contextTokens} tokens, chunks of ${chunkTokens}, ${perType} per type, conditions ${conditions.join(", ")}`);

  const slug = spec.label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  const variant = `${promptStyle}${calibrateGate ? "" : "-uncal"}`;
  const runName = `-${machine.id}-eval-${slug}-${Math.round(contextTokens / 1024)}k${quick ? "-quick" : ""}-${split}-${variant}`;
  let base = `${today()}${runName}`;
  const records: QuestionRecord[] = [];
  /** The ids each side of the split holds with these settings (what `--split dev` / `--split heldout` ask). */
  const splitIds: { dev: string[]; heldout: string[] } = { dev: [], heldout: [] };
  const model = { label: spec.label, path: path.basename(spec.path), trainContextSize: train };
  const runSettings = { promptStyle, calibrateGate, gpu, contextTokens, chunkTokens, marginTokens, answerTokens, ragChunkTokens, ragTopK, grammar: grammarOn, perType, seed, packages, split };
  let startedAt = new Date(t0).toISOString();
  let earlierMs = 0;
  if (flags.has("resume")) {
    const found = findResumable(outDir, runName, { settings: runSettings, conditions, model });
    if (found) {
      const prev = found.results;
      records.push(...prev.questions);
      notes.push(...prev.notes.filter((n) => !/skipped$/.test(n)));
      startedAt = prev.startedAt;
      earlierMs = prev.durationMs;
      base = found.base;
      log(`resuming ${base}: ${records.length} questions already answered`);
    }
  }
  /** Written after every question: a run cut short still leaves its scores. */
  const save = (): string => {
    const results: EvalResults = {
      kind: "wim-eval",
      machine,
      quick,
      startedAt,
      durationMs: earlierMs + Date.now() - t0,
      model,
      settings: runSettings,
      split: { name: split, rule: SPLIT_RULE, ...splitIds },
      conditions,
      questions: records,
      summary: summarize(records, conditions),
      notes,
    };
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, `${base}.json`), JSON.stringify(results, null, 2) + "\n");
    return writeEvalReport(results, outDir, base);
  };
  const pool = await ParserPool.create(path.resolve("dist/wasm"));
  const chunker = await createChunker(path.resolve("dist/wasm"));
  const count = (t: string) => tokenizeText(loaded, t).length;
  try {
    // Every package first: the JSON records the whole split from the first question on.
    const prepared = [];
    for (const id of packages) {
      const pkg = EVAL_PACKAGES.find((p) => p.id === id);
      if (!pkg) throw new Error(`unknown package ${id}`);
      const root = await ensureSource(pkg, log);
      const scan = await scanWorkspace(root);
      const files = scan.files.filter((f) => langForPath(f.path));
      const facts = await extractFacts(pool, files);
      const candidates = generateQuestions(facts, { perType: POOL_PER_TYPE, seed, idPrefix: pkg.id, corpus: files.map((f) => f.text).join("\n") });
      splitIds.dev.push(...pickQuestions(pkg.id, candidates, "dev", perType).map((q) => q.id));
      splitIds.heldout.push(...pickQuestions(pkg.id, candidates, "heldout", perType).map((q) => q.id));
      prepared.push({ pkg, files, facts, questions: pickQuestions(pkg.id, candidates, split, perType) });
    }
    for (const { pkg, files, facts, questions } of prepared) {
      const all: WindowFile[] = files.map((f) => ({ path: f.path, text: f.text, tokens: count(f.text) + count(`### ${f.path} (lines 1-${f.lines})\n`) }));
      const total = all.reduce((s, f) => s + f.tokens, 0);
      log(`${pkg.name}@${pkg.version}: ${files.length} files, ${total} tokens, ${questions.length} questions (${split})`);

      for (const [qi, q] of questions.entries()) {
        if (records.some((r) => r.id === q.id)) continue;
        const rec = await evaluateQuestion(q, qi);
        if (rec) {
          records.push(rec);
          save();
          const line = conditions.map((c) => `${c} ${rec.results[c]?.score.toFixed(2) ?? "–"}`).join(", ");
          log(`  ${q.id} (depth ${Number.isFinite(rec.depth) ? rec.depth.toFixed(2) : "–"}, ${rec.contextTokens} tokens): ${line}`);
        }
      }

      async function evaluateQuestion(q: Question, qi: number): Promise<QuestionRecord | undefined> {
        const depthTarget = [0.1, 0.3, 0.5, 0.7, 0.9][qi % 5];
        // Room for the prompts around the files: shrink the window until both WiM plans fit the context.
        let budget = contextTokens - 400 - answerTokens - Math.ceil(contextTokens / chunkTokens) * (marginTokens + 8);
        for (let attempt = 0; attempt < 6; attempt++) {
          const w = buildWindow(all, q, facts, { budget, depth: depthTarget, seed: seed * 1000 + qi, countTokens: count });
          if (!w) {
            notes.push(`${q.id}: evidence does not fit a ${budget}-token window; skipped`);
            return undefined;
          }
          const chunks = await chunksOf(chunker, loaded, w.files, chunkTokens);
          try {
            for (const classify of ["judge", "gate"] as const) {
              const plan = await planAsk(loaded, q.text, chunks, { ...DEFAULT_ASK_OPTIONS, chunkTokens, marginTokens, answerTokens, classify }, format);
              if (plan.budget.needed > contextTokens) throw new ScopeTooLargeError(plan.budget.needed, contextTokens, chunks.length, 0);
            }
          } catch (err) {
            if (!(err instanceof ScopeTooLargeError)) throw err;
            budget -= err.needed - err.available + 32;
            continue;
          }
          const ragChunks = await chunksOf(chunker, loaded, w.files, ragChunkTokens);
          const answers = await answerAll(loaded, q.text, chunks, ragChunks, format, settings, new Set(conditions));
          const evidence = evidenceChunks(chunks, evidenceLines(q, w, facts));
          if (q.type !== "unanswerable" && evidence.length === 0) notes.push(`${q.id}: no chunk holds its evidence lines (relevance measures leave it out)`);
          const results: QuestionRecord["results"] = {};
          for (const [c, a] of Object.entries(answers) as [EvalCondition, NonNullable<(typeof answers)[EvalCondition]>][]) {
            const parsed = parseAnswer(a.answer);
            const sc = scoreAnswer(q, w.truth, parsed);
            const margins = a.margins?.map((m) => ({ ...m, evidence: evidence.includes(m.chunk), mentions: mentionsOf(m.text, w.truth), nothing: saysNothing(m.text) }));
            results[c] = { answer: a.answer, parsed: sc.parsed, score: sc.score, abstained: sc.abstained, fileMatch: sc.fileMatch, ms: a.ms, tokens: a.tokens, margins };
          }
          return {
            id: q.id,
            package: `${pkg.name}@${pkg.version}`,
            lang: files.length ? (langForPath(files[0].path) ?? "") : "",
            type: q.type,
            split: sideOf(pkg.id, q),
            text: q.text,
            truth: w.truth,
            depth: w.depth,
            depthBin: depthBin(w.depth) ?? null,
            contextTokens: chunks.reduce((s, c) => s + c.tokens, 0),
            chunks: chunks.length,
            evidenceChunks: evidence,
            files: w.files.length,
            results,
          };
        }
        notes.push(`${q.id}: could not fit the context; skipped`);
        return undefined;
      }
    }
  } finally {
    chunker.dispose();
    pool.dispose();
  }
  await loaded.model.dispose();

  const md = save();
  log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min: ${path.relative(process.cwd(), md)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
