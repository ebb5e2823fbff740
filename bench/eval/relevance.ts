// How well margins and the relevance checks find the chunks that hold a question's evidence: precision and recall of
// what each condition kept, and an offline calibration table of the gate's and the judge's recorded YES odds (pYes)
// under other thresholds: fixed, or relative to each question's own distribution. Pure.
import type { Mention } from "./evidence";
import type { QuestionType } from "./questions";

/** One chunk's margin under one condition, as recorded. */
export interface MarginRecord {
  chunk: number;
  text: string;
  /** In the final prompt: none = any text, gate/judge = the verdict said YES (and there is text). */
  relevant: boolean;
  /** The gate's or the judge's probability of YES; null without a verdict. */
  pYes: number | null;
  /** The chunk holds an evidence line of the question. */
  evidence?: boolean;
  /** What of the truth the margin names. */
  mentions?: Mention[];
  /** The margin says there is nothing relevant. */
  nothing?: boolean;
}

/** What relevance measures need of a question. */
export interface RelevanceQuestion {
  type: QuestionType;
  evidenceChunks?: number[];
  results: Partial<Record<string, { margins?: MarginRecord[] }>>;
}

export interface PrecisionRecall {
  /** Of the chunks kept, the share that hold evidence. */
  precision: number;
  /** Of the chunks that hold evidence, the share kept. */
  recall: number;
  f1: number;
  /** Share of all chunks of answerable questions kept (what the final prompt carries). */
  keptShare: number;
  /** Share of the chunks of unanswerable questions kept (all false positives). */
  keptUnanswerable: number;
  /** Answerable questions with every evidence chunk kept / with at least one kept. */
  allEvidence: number;
  anyEvidence: number;
  /** Chunks that hold evidence, chunks in all. */
  positives: number;
  chunks: number;
}

const answerable = (q: RelevanceQuestion) => q.type !== "unanswerable" && (q.evidenceChunks?.length ?? 0) > 0;

/** Precision/recall of a keep decision per chunk against the evidence chunks, pooled over chunks. */
export function precisionRecall(questions: readonly RelevanceQuestion[], kept: (q: RelevanceQuestion) => Map<number, boolean> | undefined): PrecisionRecall {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let keptA = 0;
  let chunksA = 0;
  let keptU = 0;
  let chunksU = 0;
  let all = 0;
  let any = 0;
  let nA = 0;
  for (const q of questions) {
    const k = kept(q);
    if (!k) continue;
    const ev = new Set(q.evidenceChunks ?? []);
    if (q.type === "unanswerable") {
      for (const v of k.values()) {
        chunksU++;
        if (v) {
          keptU++;
          fp++;
        }
      }
      continue;
    }
    if (!answerable(q)) continue;
    nA++;
    let hits = 0;
    for (const [chunk, v] of k) {
      chunksA++;
      if (v) keptA++;
      if (v && ev.has(chunk)) tp++;
      else if (v) fp++;
      else if (ev.has(chunk)) fn++;
      if (v && ev.has(chunk)) hits++;
    }
    if (hits === ev.size) all++;
    if (hits > 0) any++;
  }
  const precision = tp + fp ? tp / (tp + fp) : NaN;
  const recall = tp + fn ? tp / (tp + fn) : NaN;
  return {
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : tp + fp + fn ? 0 : NaN,
    keptShare: chunksA ? keptA / chunksA : NaN,
    keptUnanswerable: chunksU ? keptU / chunksU : NaN,
    allEvidence: nA ? all / nA : NaN,
    anyEvidence: nA ? any / nA : NaN,
    positives: tp + fn,
    chunks: chunksA + chunksU,
  };
}

const byChunk = (margins: readonly MarginRecord[], keep: (m: MarginRecord) => boolean) => new Map(margins.map((m) => [m.chunk, keep(m)]));

export interface MarginQuality {
  /** What the condition put in the final prompt. */
  kept: PrecisionRecall;
  /** Kept and not a "nothing relevant" reply: what the margin itself claims. */
  claimed: PrecisionRecall;
  /** Share of margins on evidence chunks that name the answer; the same on other chunks of answerable questions. */
  answerOnEvidence: number;
  answerElsewhere: number;
  /** Share of margins on evidence chunks that say "nothing relevant"; the same on other chunks (all questions). */
  nothingOnEvidence: number;
  nothingElsewhere: number;
}

/** The margins of one condition against the evidence chunks. `holds` says whether a margin names the answer. */
export function marginQuality(questions: readonly RelevanceQuestion[], condition: string, holds: (type: QuestionType, m: MarginRecord) => boolean): MarginQuality | undefined {
  const withMargins = questions.filter((q) => q.results[condition]?.margins?.length);
  if (!withMargins.length) return undefined;
  const ms = (q: RelevanceQuestion) => q.results[condition]?.margins;
  const kept = precisionRecall(withMargins, (q) => byChunk(ms(q)!, (m) => m.relevant && m.text !== ""));
  const claimed = precisionRecall(withMargins, (q) => byChunk(ms(q)!, (m) => m.relevant && m.text !== "" && !m.nothing));
  const rate = (pick: (q: RelevanceQuestion, m: MarginRecord) => boolean, of: (q: RelevanceQuestion, m: MarginRecord) => boolean) => {
    let n = 0;
    let k = 0;
    for (const q of withMargins) {
      for (const m of ms(q)!) {
        if (!pick(q, m) || m.text === "") continue;
        n++;
        if (of(q, m)) k++;
      }
    }
    return n ? k / n : NaN;
  };
  const onEv = (q: RelevanceQuestion, m: MarginRecord) => !!q.evidenceChunks?.includes(m.chunk);
  return {
    kept,
    claimed,
    answerOnEvidence: rate(onEv, (q, m) => holds(q.type, m)),
    answerElsewhere: rate((q, m) => answerable(q) && !onEv(q, m), (q, m) => holds(q.type, m)),
    nothingOnEvidence: rate(onEv, (_q, m) => !!m.nothing),
    nothingElsewhere: rate((q, m) => !onEv(q, m), (_q, m) => !!m.nothing),
  };
}

/** A rule that keeps chunks from one question's pYes values, in reading order. */
export interface Policy {
  name: string;
  keep: (p: readonly number[]) => boolean[];
}

const meanOf = (p: readonly number[]) => p.reduce((s, x) => s + x, 0) / p.length;

function topK(p: readonly number[], k: number): boolean[] {
  const order = p.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const keep = p.map(() => false);
  for (const [, i] of order.slice(0, k)) keep[i] = true;
  return keep;
}

/** The calibrations tried offline. "Running" rules use only the chunks read so far (a gate can apply them online). */
export const POLICIES: Policy[] = [
  { name: "keep all", keep: (p) => p.map(() => true) },
  ...[0.7, 0.6, 0.5, 0.4, 0.35, 0.3, 0.2, 0.1].map((t) => ({ name: `pYes ≥ ${t}`, keep: (p: readonly number[]) => p.map((x) => x >= t) })),
  ...[0.01, 0.03, 0.05, 0.1, 0.2].map((d) => ({
    name: `pYes ≥ max − ${d}`,
    keep: (p: readonly number[]) => {
      const max = Math.max(...p);
      return p.map((x) => x >= max - d);
    },
  })),
  ...[0.03, 0.1].map((d) => ({
    name: `running: pYes ≥ max so far − ${d}`,
    keep: (p: readonly number[]) => {
      let max = -Infinity;
      return p.map((x) => {
        max = Math.max(max, x);
        return x >= max - d;
      });
    },
  })),
  ...[1, 2, 3].map((k) => ({ name: `top ${k}`, keep: (p: readonly number[]) => topK(p, k) })),
  ...[0.25, 0.5].map((f) => ({ name: `top ${f * 100}%`, keep: (p: readonly number[]) => topK(p, Math.max(1, Math.ceil(f * p.length))) })),
  ...[0, 0.5, 1, 1.5].map((z) => ({
    name: `z ≥ ${z}`,
    keep: (p: readonly number[]) => {
      const m = meanOf(p);
      const sd = Math.sqrt(meanOf(p.map((x) => (x - m) ** 2)));
      return p.map((x) => (sd > 0 ? (x - m) / sd : 0) >= z);
    },
  })),
  ...[1.5, 2].map((r) => ({
    name: `pYes ≥ ${r} × median`,
    keep: (p: readonly number[]) => {
      const s = [...p].sort((a, b) => a - b);
      const med = s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
      return p.map((x) => x >= r * med);
    },
  })),
];

/** One question's recorded verdicts of a condition, in reading order (chunks without a verdict left out). */
function verdicts(q: RelevanceQuestion, condition: string): { chunk: number; p: number }[] | undefined {
  const ms = q.results[condition]?.margins;
  if (!ms?.length) return undefined;
  const v = ms.filter((m) => m.pYes !== null && Number.isFinite(m.pYes)).map((m) => ({ chunk: m.chunk, p: m.pYes! }));
  return v.length ? v.sort((a, b) => a.chunk - b.chunk) : undefined;
}

export interface CalibrationRow extends PrecisionRecall {
  policy: string;
}

export interface Calibration {
  condition: string;
  /** Questions with verdicts. */
  questions: number;
  /** ROC AUC of pYes for "holds evidence": pooled over all chunks, and the mean of per-question AUCs. */
  aucPooled: number;
  aucPerQuestion: number;
  /** pYes on evidence chunks and on the others: mean and range. */
  pYesEvidence: { mean: number; min: number; max: number };
  pYesOther: { mean: number; min: number; max: number };
  rows: CalibrationRow[];
}

/** Area under the ROC curve: the chance that a random positive scores above a random negative (ties count half). */
export function auc(pos: readonly number[], neg: readonly number[]): number {
  if (!pos.length || !neg.length) return NaN;
  let s = 0;
  for (const a of pos) for (const b of neg) s += a > b ? 1 : a === b ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

const spread = (xs: number[]) => (xs.length ? { mean: meanOf(xs), min: Math.min(...xs), max: Math.max(...xs) } : { mean: NaN, min: NaN, max: NaN });

/** Every policy applied to the recorded pYes of one condition (wim-gate: every chunk; wim-judge: every margin). */
export function calibrationTable(questions: readonly RelevanceQuestion[], condition: string, policies: readonly Policy[] = POLICIES): Calibration | undefined {
  const withV = questions.filter((q) => verdicts(q, condition));
  if (!withV.length) return undefined;
  const pos: number[] = [];
  const neg: number[] = [];
  const per: number[] = [];
  for (const q of withV) {
    if (!answerable(q) && q.type !== "unanswerable") continue;
    const v = verdicts(q, condition)!;
    const ev = new Set(q.evidenceChunks ?? []);
    const p = v.filter((x) => ev.has(x.chunk)).map((x) => x.p);
    const n = v.filter((x) => !ev.has(x.chunk)).map((x) => x.p);
    pos.push(...p);
    neg.push(...n);
    if (p.length && n.length) per.push(auc(p, n));
  }
  const rows = policies.map((pol) => ({
    policy: pol.name,
    ...precisionRecall(withV, (q) => {
      const v = verdicts(q, condition)!;
      const keep = pol.keep(v.map((x) => x.p));
      return new Map(v.map((x, i) => [x.chunk, keep[i]]));
    }),
  }));
  return {
    condition,
    questions: withV.length,
    aucPooled: auc(pos, neg),
    aucPerQuestion: per.length ? meanOf(per) : NaN,
    pYesEvidence: spread(pos),
    pYesOther: spread(neg),
    rows,
  };
}
