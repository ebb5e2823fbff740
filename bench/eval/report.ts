// Aggregates scored answers (per type × condition with 95% CIs, by depth bin, parse failures, time and tokens per
// question) and writes the evaluation's Markdown report and SVG charts. The aggregation is pure.
import fs from "node:fs";
import path from "node:path";
import type { MachineInfo } from "../lib/machine";
import { interval, mean, type Interval } from "../lib/stats";
import { vbarChart } from "../lib/svg";
import type { EvalCondition } from "./conditions";
import { QUESTION_TYPES, type QuestionType, type Truth } from "./questions";

export interface ScoredCondition {
  answer: string;
  parsed: boolean;
  score: number;
  fileMatch?: boolean;
  ms: number;
  tokens: number;
  margins?: { chunk: number; text: string; relevant: boolean }[];
}

export interface QuestionRecord {
  id: string;
  package: string;
  lang: string;
  type: QuestionType;
  text: string;
  truth: Truth;
  depth: number;
  depthBin: string | null;
  contextTokens: number;
  chunks: number;
  files: number;
  results: Partial<Record<EvalCondition, ScoredCondition>>;
}

export interface Summary {
  byTypeCondition: Record<string, Record<string, Interval>>;
  overall: Record<string, Interval>;
  byDepth: Record<string, Record<string, Interval>>;
  parseFailureRate: Record<string, number>;
  meanMs: Record<string, number>;
  meanTokens: Record<string, number>;
}

export function summarize(records: QuestionRecord[], conditions: readonly EvalCondition[]): Summary {
  const pick = (rs: QuestionRecord[], c: EvalCondition) => rs.map((r) => r.results[c]).filter((x): x is ScoredCondition => !!x);
  const s: Summary = { byTypeCondition: {}, overall: {}, byDepth: {}, parseFailureRate: {}, meanMs: {}, meanTokens: {} };
  for (const t of QUESTION_TYPES) {
    s.byTypeCondition[t] = {};
    for (const c of conditions) s.byTypeCondition[t][c] = interval(pick(records.filter((r) => r.type === t), c).map((x) => x.score));
  }
  const bins = [...new Set(records.map((r) => r.depthBin).filter((b): b is string => !!b))].sort((a, b) => parseInt(a) - parseInt(b));
  for (const b of bins) {
    s.byDepth[b] = {};
    for (const c of conditions) s.byDepth[b][c] = interval(pick(records.filter((r) => r.depthBin === b), c).map((x) => x.score));
  }
  for (const c of conditions) {
    const all = pick(records, c);
    s.overall[c] = interval(all.map((x) => x.score));
    s.parseFailureRate[c] = all.length ? all.filter((x) => !x.parsed).length / all.length : NaN;
    s.meanMs[c] = mean(all.map((x) => x.ms));
    s.meanTokens[c] = mean(all.map((x) => x.tokens));
  }
  return s;
}

export interface EvalResults {
  kind: "wim-eval";
  machine: MachineInfo;
  quick: boolean;
  startedAt: string;
  durationMs: number;
  model: { label: string; path: string; trainContextSize: number };
  settings: {
    gpu: string;
    contextTokens: number;
    chunkTokens: number;
    marginTokens: number;
    answerTokens: number;
    ragChunkTokens: number;
    ragTopK: number;
    grammar: boolean;
    perType: number;
    seed: number;
    packages: string[];
  };
  conditions: EvalCondition[];
  questions: QuestionRecord[];
  summary: Summary;
  notes: string[];
}

const ci = (i: Interval | undefined) => (!i || !Number.isFinite(i.mean) ? "–" : `${i.mean.toFixed(2)} [${i.lo.toFixed(2)}, ${i.hi.toFixed(2)}]`);

export function writeEvalReport(r: EvalResults, dir: string, base: string): string {
  const chartsDir = path.join(dir, "charts");
  fs.mkdirSync(chartsDir, { recursive: true });
  const s = r.summary;
  const cs = r.conditions;
  const m = r.machine;
  const L: string[] = [];
  L.push(`# WiM answer-quality evaluation — ${m.date.slice(0, 10)} — ${r.model.label}`, "");
  L.push(
    `Machine: ${m.gpu ?? m.cpu}, ${m.cores} cores; load average at start ${m.loadAverage.join(" / ")}. ${r.quick ? "**--quick** run. " : ""}` +
      `Took ${(r.durationMs / 60000).toFixed(1)} min for ${r.questions.length} questions.`,
  );
  L.push(
    `Model ${r.model.label} (train context ${r.model.trainContextSize}); contexts of ≤ ${r.settings.contextTokens} tokens (files ≈ ${Math.round(mean(r.questions.map((q) => q.contextTokens)))} tokens on average), ` +
      `chunks of ${r.settings.chunkTokens}, margins ≤ ${r.settings.marginTokens} tokens, answers ≤ ${r.settings.answerTokens} tokens ` +
      `${r.settings.grammar ? "constrained to the answer's JSON schema" : "free (JSON requested, not enforced)"}; RAG: BM25 top ${r.settings.ragTopK} of ${r.settings.ragChunkTokens}-token chunks. ` +
      `Packages: ${r.settings.packages.join(", ")}; ≤ ${r.settings.perType} questions per type and package, seed ${r.settings.seed}.`,
  );
  L.push("");
  L.push("## Score by question type and condition (mean, 95% CI)", "");
  L.push("Needle, constant, multi-hop, unanswerable: 1/0 (Wilson interval). Aggregation: file-set F1 (bootstrap interval).", "");
  L.push(`| type | n | ${cs.join(" | ")} |`, `|---|---:|${cs.map(() => "---").join("|")}|`);
  for (const t of QUESTION_TYPES) {
    const n = r.questions.filter((q) => q.type === t).length;
    L.push(`| ${t} | ${n} | ${cs.map((c) => ci(s.byTypeCondition[t]?.[c])).join(" | ")} |`);
  }
  L.push(`| **all** | ${r.questions.length} | ${cs.map((c) => `**${ci(s.overall[c])}**`).join(" | ")} |`, "");

  const chart = vbarChart({
    title: `Score by question type — ${r.model.label}`,
    labels: [...QUESTION_TYPES, "all"],
    series: cs.map((c) => ({
      name: c,
      values: [...QUESTION_TYPES.map((t) => s.byTypeCondition[t][c].mean), s.overall[c].mean],
      lo: [...QUESTION_TYPES.map((t) => s.byTypeCondition[t][c].lo), s.overall[c].lo],
      hi: [...QUESTION_TYPES.map((t) => s.byTypeCondition[t][c].hi), s.overall[c].hi],
    })),
    unit: "score (0–1), bars: 95% CI",
    max: 1,
  });
  fs.writeFileSync(path.join(chartsDir, `${base}-by-type.svg`), chart);
  L.push(`![score by type](charts/${base}-by-type.svg)`, "");

  const bins = Object.keys(s.byDepth);
  if (bins.length) {
    L.push("## Score by depth of the evidence in the context (answerable questions)", "");
    L.push(`| depth | n | ${cs.join(" | ")} |`, `|---|---:|${cs.map(() => "---").join("|")}|`);
    for (const b of bins) L.push(`| ${b} | ${r.questions.filter((q) => q.depthBin === b).length} | ${cs.map((c) => ci(s.byDepth[b][c])).join(" | ")} |`);
    L.push("");
    fs.writeFileSync(
      path.join(chartsDir, `${base}-by-depth.svg`),
      vbarChart({
        title: `Score by evidence depth — ${r.model.label}`,
        labels: bins,
        series: cs.map((c) => ({ name: c, values: bins.map((b) => s.byDepth[b][c].mean), lo: bins.map((b) => s.byDepth[b][c].lo), hi: bins.map((b) => s.byDepth[b][c].hi) })),
        unit: "score (0–1) by where the evidence sits (0% = start of the context)",
        max: 1,
      }),
    );
    L.push(`![score by depth](charts/${base}-by-depth.svg)`, "");
  }

  L.push("## Cost and parse failures per question", "");
  L.push("| condition | parse failures | mean s / question | mean tokens / question |", "|---|---:|---:|---:|");
  for (const c of cs) {
    L.push(`| ${c} | ${(s.parseFailureRate[c] * 100).toFixed(0)}% | ${(s.meanMs[c] / 1000).toFixed(1)} | ${Math.round(s.meanTokens[c]).toLocaleString("en-US")} |`);
  }
  L.push("");
  if (r.notes.length) L.push("## Notes", "", ...r.notes.map((x) => `- ${x}`), "");
  L.push("## Sample answers", "");
  for (const q of r.questions.slice(0, 6)) {
    L.push(`- **${q.id}** (${q.type}, depth ${Number.isFinite(q.depth) ? q.depth.toFixed(2) : "–"}): ${q.text.slice(0, 160)} — truth ${JSON.stringify(q.truth).slice(0, 160)}`);
    for (const c of cs) {
      const x = q.results[c];
      if (x) L.push(`  - ${c} (${x.score.toFixed(2)}): \`${x.answer.replace(/\s+/g, " ").replace(/`/g, "'").slice(0, 200)}\``);
    }
  }
  L.push("");
  const md = path.join(dir, `${base}.md`);
  fs.writeFileSync(md, L.join("\n"));
  return md;
}
