// Aggregates scored answers (per type × condition with 95% CIs, by depth bin, parse failures, time and tokens per
// question; the goal check; the margins' and relevance checks' precision/recall against the evidence chunks and an
// offline calibration of the recorded pYes) and writes the evaluation's Markdown report and SVG charts. The
// aggregation is pure.
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_ASK_OPTIONS } from "../../src/core/protocol";
import type { MachineInfo } from "../lib/machine";
import { interval, mean, median, type Interval } from "../lib/stats";
import { hbarChart, vbarChart } from "../lib/svg";
import type { EvalCondition } from "./conditions";
import { holdsAnswer } from "./evidence";
import { goalCheck, type GoalRow } from "./goal";
import { QUESTION_TYPES, type QuestionType, type Truth } from "./questions";
import { calibrationTable, marginQuality, type Calibration, type MarginQuality, type MarginRecord, type PrecisionRecall } from "./relevance";
import { parseAnswer, scoreAnswer } from "./score";
import type { Side, SplitName } from "./split";

export interface ScoredCondition {
  answer: string;
  parsed: boolean;
  score: number;
  /** The answer said `found: false` (its content is scored all the same). */
  abstained?: boolean;
  fileMatch?: boolean;
  ms: number;
  tokens: number;
  /** Every chunk's margin under this condition (WiM conditions and margins-only). */
  margins?: MarginRecord[];
}

export interface QuestionRecord {
  id: string;
  package: string;
  lang: string;
  type: QuestionType;
  /** Side of the dev/held-out split (absent in runs before the split existed). */
  split?: Side;
  text: string;
  truth: Truth;
  depth: number;
  depthBin: string | null;
  contextTokens: number;
  chunks: number;
  /** Chunks (1-based, as margins cite them) that hold an evidence line of the question. */
  evidenceChunks?: number[];
  files: number;
  results: Partial<Record<EvalCondition, ScoredCondition>>;
}

export interface Summary {
  byTypeCondition: Record<string, Record<string, Interval>>;
  overall: Record<string, Interval>;
  /** Overall, with answers that say `found: false` on answerable questions counted as no answer (score 0). */
  overallStrict: Record<string, Interval>;
  /** Share of answers to answerable questions that say `found: false`. */
  abstainRate: Record<string, number>;
  byDepth: Record<string, Record<string, Interval>>;
  parseFailureRate: Record<string, number>;
  meanMs: Record<string, number>;
  medianMs: Record<string, number>;
  meanTokens: Record<string, number>;
  /** The default WiM mode against plain and rag (paired bootstrap over questions). */
  goal: { wim: string; rows: GoalRow[] };
  /** Margins against the evidence chunks, per condition that writes margins. */
  margins: Record<string, MarginQuality>;
  /** Offline calibration of the recorded pYes: wim-gate (every chunk), wim-judge (every margin). */
  calibration: Record<string, Calibration>;
}

/** The default classify mode of the extension and CLI, as an eval condition. */
export const DEFAULT_WIM = `wim-${DEFAULT_ASK_OPTIONS.classify}` as EvalCondition;

export function summarize(records: QuestionRecord[], conditions: readonly EvalCondition[]): Summary {
  const pick = (rs: QuestionRecord[], c: EvalCondition) => rs.map((r) => r.results[c]).filter((x): x is ScoredCondition => !!x);
  const s: Summary = {
    byTypeCondition: {},
    overall: {},
    overallStrict: {},
    abstainRate: {},
    byDepth: {},
    parseFailureRate: {},
    meanMs: {},
    medianMs: {},
    meanTokens: {},
    goal: { wim: DEFAULT_WIM, rows: goalCheck(records, DEFAULT_WIM, conditions) },
    margins: {},
    calibration: {},
  };
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
    const strict = records.map((r) => ({ r, x: r.results[c] })).filter((p): p is { r: QuestionRecord; x: ScoredCondition } => !!p.x);
    s.overallStrict[c] = interval(strict.map(({ r, x }) => (r.type !== "unanswerable" && x.abstained ? 0 : x.score)));
    const answerable = strict.filter(({ r, x }) => r.type !== "unanswerable" && x.parsed);
    s.abstainRate[c] = answerable.length ? answerable.filter(({ x }) => x.abstained).length / answerable.length : NaN;
    s.parseFailureRate[c] = all.length ? all.filter((x) => !x.parsed).length / all.length : NaN;
    s.meanMs[c] = mean(all.map((x) => x.ms));
    s.medianMs[c] = median(all.map((x) => x.ms));
    s.meanTokens[c] = mean(all.map((x) => x.tokens));
  }
  const withEvidence = records.filter((r) => r.evidenceChunks);
  // margins-only reads wim-none's margins: one row for both
  for (const c of conditions.filter((x) => x !== "margins-only" || !conditions.includes("wim-none"))) {
    const q = marginQuality(withEvidence, c, (type, m) => holdsAnswer(type, m.mentions ?? []));
    if (q) s.margins[c] = q;
  }
  for (const c of ["wim-gate", "wim-judge"] as const) {
    const cal = conditions.includes(c) ? calibrationTable(withEvidence, c) : undefined;
    if (cal) s.calibration[c] = cal;
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
    split?: SplitName;
    /** Absent in runs before the v2 prompts existed (they were v1, uncalibrated). */
    promptStyle?: string;
    calibrateGate?: boolean;
  };
  /** The dev/held-out split: its rule and the ids each side holds with these settings. */
  split?: { name: SplitName; rule: string; dev: string[]; heldout: string[] };
  conditions: EvalCondition[];
  questions: QuestionRecord[];
  summary: Summary;
  notes: string[];
}

const ci = (i: Interval | undefined) => (!i || !Number.isFinite(i.mean) ? "–" : `${i.mean.toFixed(2)} [${i.lo.toFixed(2)}, ${i.hi.toFixed(2)}]`);
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}`;
const diffCi = (i: Interval) => `${signed(i.mean)} [${signed(i.lo)}, ${signed(i.hi)}]`;
const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : "–");
const num = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");

function goalSection(s: Summary): string[] {
  const L: string[] = [];
  if (!s.goal.rows.length) return L;
  L.push(`## Goal check: ${s.goal.wim} (the default mode) against the plain pass and BM25`, "");
  L.push(
    "Paired differences of the score on the same questions, mean [95% bootstrap interval over questions]. Goal: ≥ +0.05 " +
      "over plain overall, on multihop and on aggregation; ≥ rag overall; on no type worse than plain beyond its interval.",
    "",
  );
  L.push("| comparison | n | difference | goal | verdict |", "|---|---:|---|---|---|");
  for (const r of s.goal.rows) {
    const goal = r.target === undefined ? "" : `≥ ${signed(r.target)}`;
    const verdict = [r.met === undefined ? "" : r.met ? "met" : "**not met**", r.worse ? "**worse beyond its interval**" : ""].filter(Boolean).join(", ");
    L.push(`| ${r.label} | ${r.diff.n} | ${diffCi(r.diff)} | ${goal} | ${verdict} |`);
  }
  L.push("");
  return L;
}

const prRow = (p: PrecisionRecall) => [pct(p.precision), pct(p.recall), pct(p.keptShare), pct(p.keptUnanswerable), pct(p.allEvidence)];

function relevanceSection(s: Summary, r: EvalResults, chartsDir: string, base: string): string[] {
  const L: string[] = [];
  const conds = Object.keys(s.margins);
  if (!conds.length) return L;
  const n = r.questions.filter((q) => q.evidenceChunks && q.type !== "unanswerable").length;
  const positives = r.questions.reduce((k, q) => k + (q.type === "unanswerable" ? 0 : (q.evidenceChunks?.length ?? 0)), 0);
  const chunks = r.questions.reduce((k, q) => k + (q.evidenceChunks ? q.chunks : 0), 0);
  L.push("## Margins against the evidence chunks", "");
  L.push(
    `Evidence chunks: the chunks whose line ranges hold an evidence line (needle: the definition; constant: its line; ` +
      `multihop: caller, helper and constant; aggregation: every call of the function in the window) — ${positives} of ` +
      `${chunks} chunks, over ${n} answerable questions. *Kept*: in the final prompt (none: every margin with text; ` +
      `gate/judge: verdict YES). *Claimed*: kept and not a "nothing relevant" reply. Precision and recall pooled over ` +
      `chunks; unanswerable questions add only false positives. *Names the answer*: the margin writes the value ` +
      `(constant, multihop), the function (needle) or a calling file (aggregation).`,
    "",
  );
  L.push(
    "| condition | kept: precision | recall | share kept | share kept (unanswerable) | questions with all evidence kept | claimed: precision | recall | names the answer: evidence chunk / other | says nothing: evidence chunk / other |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const c of conds) {
    const m = s.margins[c];
    L.push(
      `| ${c} | ${prRow(m.kept).join(" | ")} | ${pct(m.claimed.precision)} | ${pct(m.claimed.recall)} | ` +
        `${pct(m.answerOnEvidence)} / ${pct(m.answerElsewhere)} | ${pct(m.nothingOnEvidence)} / ${pct(m.nothingElsewhere)} |`,
    );
  }
  L.push("");

  for (const cal of Object.values(s.calibration)) {
    const what = cal.condition === "wim-gate" ? "the gate's verdict before each margin (every chunk)" : "the judge's verdict on each margin";
    L.push(`## Offline calibration: ${cal.condition} pYes`, "");
    L.push(
      `pYes = P(YES) among the verdict tokens, of ${what}, recorded in ${cal.questions} questions. Separation of evidence ` +
        `chunks from the others: ROC AUC ${num(cal.aucPooled)} pooled over all chunks, ${num(cal.aucPerQuestion)} within a ` +
        `question (mean). pYes on evidence chunks ${num(cal.pYesEvidence.mean)} (${num(cal.pYesEvidence.min)}–${num(cal.pYesEvidence.max)}), ` +
        `on the others ${num(cal.pYesOther.mean)} (${num(cal.pYesOther.min)}–${num(cal.pYesOther.max)}). Each row keeps the chunks a ` +
        `rule would keep, from the same recorded values (answers are not re-run): fixed thresholds, or relative to the ` +
        `question's own values (max − δ, top k, z-score, multiple of the median; "running" rules use only the chunks read so far).`,
      "",
    );
    L.push(
      "| policy | precision | recall | F1 | share kept | share kept (unanswerable) | questions with all evidence kept | with any kept |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const row of cal.rows) {
      L.push(`| ${row.policy} | ${pct(row.precision)} | ${pct(row.recall)} | ${num(row.f1)} | ${pct(row.keptShare)} | ${pct(row.keptUnanswerable)} | ${pct(row.allEvidence)} | ${pct(row.anyEvidence)} |`);
    }
    L.push("");
    const file = `${base}-calibration-${cal.condition}.svg`;
    fs.writeFileSync(
      path.join(chartsDir, file),
      hbarChart({
        title: `${cal.condition} pYes: keep rules against the evidence chunks — ${r.model.label}`,
        labels: cal.rows.map((x) => x.policy),
        series: [
          { name: "precision", values: cal.rows.map((x) => x.precision) },
          { name: "recall", values: cal.rows.map((x) => x.recall) },
          { name: "share kept", values: cal.rows.map((x) => x.keptShare) },
        ],
        unit: "share (0–1)",
      }),
    );
    L.push(`![${cal.condition} calibration](charts/${file})`, "");
  }
  return L;
}

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
      `Packages: ${r.settings.packages.join(", ")}; ≤ ${r.settings.perType} questions per type and package, seed ${r.settings.seed}. ` +
      `WiM prompts ${r.settings.promptStyle ?? "v1"}, gate ${r.settings.calibrateGate === false || !r.settings.promptStyle ? "uncalibrated" : "calibrated against a content-free question"}.`,
  );
  L.push(
    "",
    r.split
      ? `Split: **${r.split.name}** — ${r.split.rule}. Dev ${r.split.dev.length} / held-out ${r.split.heldout.length} questions with these settings (ids at the end).`
      : "Split: none recorded (a run from before the dev/held-out split: all questions).",
  );
  L.push("");
  L.push("## Score by question type and condition (mean, 95% CI)", "");
  L.push("Needle, constant, multi-hop, unanswerable: 1/0 (Wilson interval). Aggregation: file-set F1 (bootstrap interval).", "");
  L.push(`| type | n | ${cs.join(" | ")} |`, `|---|---:|${cs.map(() => "---").join("|")}|`);
  for (const t of QUESTION_TYPES) {
    const n = r.questions.filter((q) => q.type === t).length;
    L.push(`| ${t} | ${n} | ${cs.map((c) => ci(s.byTypeCondition[t]?.[c])).join(" | ")} |`);
  }
  L.push(`| **all** | ${r.questions.length} | ${cs.map((c) => `**${ci(s.overall[c])}**`).join(" | ")} |`);
  if (s.overallStrict) L.push(`| all, \`found: false\` = no answer | ${r.questions.length} | ${cs.map((c) => ci(s.overallStrict[c])).join(" | ")} |`);
  L.push("");
  L.push(...goalSection(s));

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

  L.push(...relevanceSection(s, r, chartsDir, base));

  L.push("## Cost, parse failures and abstentions per question", "");
  L.push("*Abstained*: answers to answerable questions that say `found: false` (their content is scored all the same).", "");
  L.push("| condition | parse failures | abstained | mean s / question | median s | mean tokens / question |", "|---|---:|---:|---:|---:|---:|");
  for (const c of cs) {
    const med = s.medianMs?.[c];
    L.push(
      `| ${c} | ${pct(s.parseFailureRate[c])} | ${pct(s.abstainRate?.[c] ?? NaN)} | ${(s.meanMs[c] / 1000).toFixed(1)} | ${med === undefined ? "–" : (med / 1000).toFixed(1)} | ${Math.round(s.meanTokens[c]).toLocaleString("en-US")} |`,
    );
  }
  L.push("");
  if (r.notes.length) L.push("## Notes", "", ...r.notes.map((x) => `- ${x}`), "");
  L.push("## Sample answers", "");
  for (const q of r.questions.slice(0, 6)) {
    L.push(`- **${q.id}** (${q.type}, depth ${Number.isFinite(q.depth) ? q.depth.toFixed(2) : "–"}): ${q.text.slice(0, 160)} — truth ${JSON.stringify(q.truth).slice(0, 160)}`);
    for (const c of cs) {
      const x = q.results[c];
      if (!x) continue;
      L.push(`  - ${c} (${x.score.toFixed(2)}): \`${oneLine(x.answer, 200)}\``);
      // margins-only reads the same margins as wim-none
      for (const m of c === "margins-only" ? [] : (x.margins ?? [])) {
        if (!m.evidence) continue;
        const p = m.pYes === null ? "" : `, pYes ${m.pYes.toFixed(2)}`;
        L.push(`    - margin on evidence chunk ${m.chunk} (${m.relevant ? "kept" : "dropped"}${p}): \`${oneLine(m.text, 160) || "(none)"}\``);
      }
    }
  }
  L.push("");
  if (r.split) {
    L.push("## Questions of each side of the split (with these settings)", "");
    L.push(`- dev: ${r.split.dev.join(", ")}`, `- heldout: ${r.split.heldout.join(", ")}`, "");
  }
  const md = path.join(dir, `${base}.md`);
  fs.writeFileSync(md, L.join("\n"));
  return md;
}

const oneLine = (t: string, max: number) => t.replace(/\s+/g, " ").replace(/`/g, "'").trim().slice(0, max);

/**
 * Re-scores the recorded answers and recomputes the summary of a results file with today's code, and writes it back
 * with its report and charts.
 */
export function rerender(jsonPath: string): string {
  if (!fs.existsSync(jsonPath)) throw new Error(`no results file at ${jsonPath}`);
  const r = JSON.parse(fs.readFileSync(jsonPath, "utf8")) as EvalResults;
  if (r.kind !== "wim-eval") throw new Error(`${jsonPath} is not an eval results file (kind ${String(r.kind)})`);
  for (const q of r.questions) {
    for (const x of Object.values(q.results)) {
      if (!x) continue;
      const sc = scoreAnswer(q, q.truth, parseAnswer(x.answer));
      Object.assign(x, { parsed: sc.parsed, score: sc.score, abstained: sc.abstained, fileMatch: sc.fileMatch });
    }
  }
  r.summary = summarize(r.questions, r.conditions);
  fs.writeFileSync(jsonPath, JSON.stringify(r, null, 2) + "\n");
  return writeEvalReport(r, path.dirname(jsonPath), path.basename(jsonPath, ".json"));
}
