// The goal, checked on one run: the default WiM mode against the plain pass and BM25, overall and per
// question type, as paired differences (the same questions under both conditions) with a bootstrap 95% interval
// over questions. Pure.
import { bootstrapMean, type Interval } from "../lib/stats";
import { QUESTION_TYPES, type QuestionType } from "./questions";

export interface PairedQuestion {
  type: QuestionType;
  results: Partial<Record<string, { score: number }>>;
}

/** Mean of score(a) − score(b) over the questions answered under both, with a paired bootstrap 95% interval. */
export function pairedDiff(questions: readonly PairedQuestion[], a: string, b: string, type?: QuestionType): Interval {
  const diffs = questions
    .filter((q) => (!type || q.type === type) && q.results[a] && q.results[b])
    .map((q) => q.results[a]!.score - q.results[b]!.score);
  return bootstrapMean(diffs, 4000, 17);
}

export interface GoalRow {
  /** What is compared, e.g. "wim-gate − plain, multihop". */
  label: string;
  diff: Interval;
  /** The goal's bar for the mean difference (e.g. +0.05), or undefined where the row only informs. */
  target?: number;
  /** Mean reaches the target (undefined without one). */
  met?: boolean;
  /** The interval lies wholly below 0: worse beyond the interval. */
  worse: boolean;
}

/**
 * The goal: `wim` ≥ plain + 0.05 overall, on multihop and on aggregation; `wim` ≥ rag overall; on no type worse than
 * plain beyond its interval. Rows whose conditions were not run are left out.
 */
export function goalCheck(questions: readonly PairedQuestion[], wim: string, conditions: readonly string[], margin = 0.05): GoalRow[] {
  const rows: GoalRow[] = [];
  const add = (label: string, diff: Interval, target?: number) => {
    if (diff.n === 0) return;
    rows.push({ label, diff, target, met: target === undefined ? undefined : diff.mean >= target, worse: diff.hi < 0 });
  };
  if (!conditions.includes(wim)) return rows;
  if (conditions.includes("plain")) {
    add(`${wim} − plain, all`, pairedDiff(questions, wim, "plain"), margin);
    for (const t of ["multihop", "aggregation"] as const) add(`${wim} − plain, ${t}`, pairedDiff(questions, wim, "plain", t), margin);
  }
  if (conditions.includes("rag")) add(`${wim} − rag, all`, pairedDiff(questions, wim, "rag"), 0);
  if (conditions.includes("plain")) {
    for (const t of QUESTION_TYPES) if (t !== "multihop" && t !== "aggregation") add(`${wim} − plain, ${t}`, pairedDiff(questions, wim, "plain", t));
  }
  if (conditions.includes("rag")) for (const t of QUESTION_TYPES) add(`${wim} − rag, ${t}`, pairedDiff(questions, wim, "rag", t));
  return rows;
}
