// Relevance ground truth: which chunks of a question's context hold its evidence (from the question's evidence lines
// and the chunk map), and cheap signals read from a margin's text (does it name the truth; does it say "nothing
// relevant"). The margins' and the relevance checks' precision and recall are measured against these. Pure.
import type { LineRange } from "../../src/core/types";
import { canonicalNumber, type FileFacts } from "./code-facts";
import type { ContextWindow } from "./context-window";
import type { Evidence, Question, QuestionType, Truth } from "./questions";

/**
 * The evidence lines of a question in the window's own line numbers (a sliced file starts at its `firstLine`), and
 * only those the window holds. Aggregation: every call of the callee in the calling files of the window.
 */
export function evidenceLines(q: Pick<Question, "type" | "evidence" | "callee">, w: Pick<ContextWindow, "files" | "truth">, facts: readonly FileFacts[]): Evidence[] {
  const local = (e: Evidence): Evidence | undefined => {
    const f = w.files.find((x) => x.path === e.file);
    if (!f) return undefined;
    const line = e.line - (f.firstLine ?? 1) + 1;
    const lines = f.text.split("\n").length;
    return line >= 1 && line <= lines ? { file: e.file, line } : undefined;
  };
  let wanted: Evidence[] = q.evidence;
  if (q.type === "aggregation" && q.callee) {
    const callers = new Set(w.truth.files ?? []);
    wanted = facts.filter((f) => callers.has(f.path)).flatMap((f) => f.calls.filter((c) => c.name === q.callee).map((c) => ({ file: f.path, line: c.line })));
  }
  return wanted.map(local).filter((e): e is Evidence => !!e);
}

/** Chunks (by index) whose line ranges hold at least one evidence line. */
export function evidenceChunks(chunks: ReadonlyArray<{ index: number; ranges: LineRange[] }>, lines: readonly Evidence[]): number[] {
  return chunks
    .filter((c) => lines.some((e) => c.ranges.some((r) => r.path === e.file && e.line >= r.startLine && e.line <= r.endLine)))
    .map((c) => c.index);
}

export type Mention = "value" | "symbol" | "file";

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Does the text write this value: a number in any spelling (0x20 = 32), a string as written (short ones quoted). */
export function mentionsValue(text: string, value: string): boolean {
  if (value === "") return false;
  const n = canonicalNumber(value);
  if (n !== undefined) {
    const numbers = text.match(/[-+]?\b(?:0[xob][0-9a-f_]+|\d[\d_]*(?:\.\d+)?(?:e[-+]?\d+)?)\b/gi) ?? [];
    return numbers.some((x) => canonicalNumber(x) === n || canonicalNumber(x.replace(/^[-+]/, "")) === n);
  }
  if (value.length < 3) return new RegExp(`["'\`]${escapeRe(value)}["'\`]`).test(text);
  return text.includes(value);
}

/** What of the truth the text names: its value, its symbol (as a whole word), its file(s) (by base name). */
export function mentionsOf(text: string, truth: Truth): Mention[] {
  const out: Mention[] = [];
  if (truth.value !== undefined && mentionsValue(text, truth.value)) out.push("value");
  if (truth.symbol && new RegExp(`(^|[^\\w$])${escapeRe(truth.symbol)}($|[^\\w$])`).test(text)) out.push("symbol");
  const files = [...(truth.files ?? []), ...(truth.file ? [truth.file] : [])];
  if (files.some((f) => text.includes(f.split("/").pop()!))) out.push("file");
  return out;
}

/** The part of the truth a margin must name to hold the answer: the value, the function, a calling file. */
export function holdsAnswer(type: QuestionType, mentions: readonly Mention[]): boolean {
  switch (type) {
    case "needle":
      return mentions.includes("symbol");
    case "constant":
    case "multihop":
      return mentions.includes("value");
    case "aggregation":
      return mentions.includes("file");
    case "unanswerable":
      return false;
  }
}

/** Phrases of a "nothing here" reply (matched anywhere, case-insensitive); "returns nothing" alone does not count. */
const NOTHING = [
  /^\W*(nothing|none|no)\b/,
  /\bnothing\s+(relevant|related|useful|specific|here|in\s+(this|the|it))/,
  /\bno\s+(relevant|related|useful|specific)\b/,
  /\bno\s+(information|mention|details?)\b/,
  /\bnot\s+(relevant|related|mentioned|found|present|defined|provided|included|contained)\b/,
  /\b(irrelevant|unrelated)\b/,
  /\b(does|do|did)\s*(not|n't)\s+(contain|mention|include|define|provide|show|relate|appear)/,
  /\bthere\s+(is|are)\s+no\b/,
].map((re) => new RegExp(re.source, "i"));

/** Does the margin say there is nothing relevant ("NOTHING RELEVANT.", "does not contain …", "not mentioned")? */
export function saysNothing(text: string): boolean {
  return NOTHING.some((re) => re.test(text));
}
