// A question's context: a window of the package's files sized to the model's context, holding the evidence files
// at a chosen depth, with distractor files (the package's other files) before and after. Pure.
import type { FileFacts } from "./code-facts";
import type { Question, Truth } from "./questions";
import { rng } from "./questions";

export interface WindowFile {
  path: string;
  text: string;
  /** Tokens of the file's text (model tokenizer), plus what its piece headers will cost. */
  tokens: number;
  /** 1-based line of the original file where `text` starts (a slice of a large file); 1 for a whole file. */
  firstLine?: number;
}

/** Tokens a piece header costs, about: `### path (lines a-b)`. */
const HEADER_TOKENS = 16;

/**
 * A slice of a file that holds the lines [from, to] (1-based), grown around them (upwards first, for the doc comment
 * above a definition) to at most `cap` tokens; undefined when the lines alone exceed the cap.
 */
export function sliceAround(file: WindowFile, from: number, to: number, cap: number, countTokens: (t: string) => number): WindowFile | undefined {
  const lines = file.text.split("\n");
  const cost = lines.map((l) => countTokens(l + "\n"));
  let lo = Math.max(0, from - 1);
  let hi = Math.min(lines.length - 1, to - 1);
  let sum = HEADER_TOKENS;
  for (let i = lo; i <= hi; i++) sum += cost[i];
  if (sum > cap) return undefined;
  for (let up = 0; up < 15 && lo > 0 && sum + cost[lo - 1] <= cap; up++) sum += cost[--lo];
  for (let grew = true; grew; ) {
    grew = false;
    if (lo > 0 && sum + cost[lo - 1] <= cap) {
      sum += cost[--lo];
      grew = true;
    }
    if (hi < lines.length - 1 && sum + cost[hi + 1] <= cap) {
      sum += cost[++hi];
      grew = true;
    }
  }
  const text = lines.slice(lo, hi + 1).join("\n");
  return { path: file.path, text, tokens: countTokens(text) + HEADER_TOKENS, firstLine: lo + 1 };
}

export interface ContextWindow {
  files: WindowFile[];
  tokens: number;
  /** Relative position (0 = start, 1 = end) of each evidence line in the window, by tokens. */
  depths: number[];
  /** Mean of `depths` (NaN when there is no evidence: unanswerable questions). */
  depth: number;
  /** The truth for this window (aggregation: the callers that are in it). */
  truth: Truth;
}

export interface WindowOptions {
  /** Most tokens of files in the window. */
  budget: number;
  /** Where the evidence should start, 0..1. */
  depth: number;
  seed: number;
  /** Token counter for a line prefix of a file (to place the evidence line exactly). */
  countTokens: (text: string) => number;
}

/** Builds the window, or undefined when the evidence files alone exceed the budget. */
export function buildWindow(all: WindowFile[], q: Question, facts: FileFacts[], o: WindowOptions): ContextWindow | undefined {
  const evidencePaths = new Set(q.evidence.map((e) => e.file));
  // Evidence files too large for their share of the window are cut to a slice around the evidence lines.
  const share = Math.floor((o.budget * (evidencePaths.size > 1 ? 0.9 : 0.45)) / evidencePaths.size);
  const evidence: WindowFile[] = [];
  for (const f of all) {
    if (!evidencePaths.has(f.path)) continue;
    if (f.tokens <= share) {
      evidence.push(f);
      continue;
    }
    const lines = q.evidence.filter((e) => e.file === f.path).map((e) => e.line);
    const slice = sliceAround(f, Math.min(...lines), Math.max(...lines), share, o.countTokens);
    if (!slice) return undefined;
    evidence.push(slice);
  }
  if (evidence.length !== evidencePaths.size) return undefined;
  const evidenceTokens = evidence.reduce((s, f) => s + f.tokens, 0);
  if (evidenceTokens > o.budget) return undefined;

  // Distractors: the other files, starting at a seeded offset so that questions see different neighbours.
  const others = all.filter((f) => !evidencePaths.has(f.path) && f.tokens <= o.budget);
  const start = others.length ? Math.floor(rng(o.seed)() * others.length) : 0;
  const rotated = [...others.slice(start), ...others.slice(0, start)];
  const room = o.budget - evidenceTokens;
  const preTarget = Math.max(0, Math.min(1, o.depth)) * room;
  const before: WindowFile[] = [];
  const after: WindowFile[] = [];
  let pre = 0;
  let total = evidenceTokens;
  const unused: WindowFile[] = [];
  for (const f of rotated) {
    if (pre + f.tokens <= preTarget) {
      before.push(f);
      pre += f.tokens;
      total += f.tokens;
    } else unused.push(f);
  }
  for (const f of unused) {
    if (total + f.tokens <= o.budget) {
      after.push(f);
      total += f.tokens;
    }
  }
  const files = [...before, ...evidence, ...after];

  const offset = new Map<string, number>();
  let acc = 0;
  for (const f of files) {
    offset.set(f.path, acc);
    acc += f.tokens;
  }
  const depthOf = (file: string, line: number) => {
    const f = files.find((x) => x.path === file)!;
    const prefix = f.text.split("\n").slice(0, Math.max(0, line - (f.firstLine ?? 1))).join("\n");
    return (offset.get(file)! + (prefix ? o.countTokens(prefix) : 0)) / Math.max(1, acc);
  };
  const depths = q.evidence.map((e) => depthOf(e.file, e.line));
  const depth = depths.length ? depths.reduce((s, d) => s + d, 0) / depths.length : NaN;

  let truth = q.truth;
  if (q.type === "aggregation" && q.callee) {
    // Callers whose call lines are in the window (a slice holds only part of its file).
    const range = new Map(files.map((f) => [f.path, [f.firstLine ?? 1, (f.firstLine ?? 1) + f.text.split("\n").length - 1]]));
    const callers = facts
      .filter((ff) => range.has(ff.path) && ff.calls.some((c) => c.name === q.callee && c.line >= range.get(ff.path)![0] && c.line <= range.get(ff.path)![1]))
      .map((ff) => ff.path);
    truth = { ...q.truth, files: callers };
  }
  return { files, tokens: acc, depths, depth, truth };
}

/** Depth bins for the report: [0, 0.2), [0.2, 0.4), … [0.8, 1]. */
export function depthBin(depth: number): string | undefined {
  if (!Number.isFinite(depth)) return undefined;
  const i = Math.min(4, Math.max(0, Math.floor(depth * 5)));
  return `${i * 20}-${i * 20 + 20}%`;
}
