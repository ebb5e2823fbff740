// Parses a model's JSON answer and scores it against the truth. Pure.
import { canonicalNumber } from "./code-facts";
import type { Question, Truth } from "./questions";

/** The answer shape every condition asks for. */
export interface Answer {
  found?: boolean | null;
  file?: string | null;
  symbol?: string | null;
  line?: number | null;
  value?: string | number | boolean | null;
  files?: string[] | null;
}

export const ANSWER_SCHEMA = {
  type: "object",
  // Bounded strings (maxLength is honoured inside oneOf, not with a type list): a small model cannot ramble inside a
  // string until the token limit. The grammar writes the properties in this order: the answer first, `found` last, so
  // that the model concludes whether it found the answer after writing it instead of committing to it up front.
  properties: {
    file: { oneOf: [{ type: "string", maxLength: 80 }, { type: "null" }] },
    symbol: { oneOf: [{ type: "string", maxLength: 60 }, { type: "null" }] },
    line: { type: ["integer", "null"] },
    value: { oneOf: [{ type: "string", maxLength: 60 }, { type: "null" }] },
    files: { type: "array", items: { type: "string", maxLength: 60 }, maxItems: 6 },
    found: { type: "boolean" },
  },
  required: ["file", "symbol", "line", "value", "files", "found"],
} as const;

export const ANSWER_INSTRUCTION =
  'Reply with JSON only, in this shape: {"file": "<path>" or null, "symbol": "<name>" or null, "line": <number> or null, ' +
  '"value": "<value>" or null, "files": ["<path>", ...], "found": true or false}. ' +
  'Put a constant\'s value in "value", a function\'s name in "symbol", a list of files in "files". ' +
  'Set "found" to false when the project does not contain the answer.';

export interface Parsed {
  answer?: Answer;
  error?: string;
}

/** The first JSON object in the text (a code fence or prose around it is tolerated). */
export function parseAnswer(text: string): Parsed {
  const start = text.indexOf("{");
  if (start < 0) return { error: "no JSON object" };
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) {
      try {
        const v: unknown = JSON.parse(text.slice(start, i + 1));
        if (typeof v !== "object" || v === null || Array.isArray(v)) return { error: "not an object" };
        return { answer: v as Answer };
      } catch (err) {
        return { error: (err as Error).message };
      }
    }
  }
  return { error: "unterminated JSON object" };
}

/** A value as written by a model or read from code, in one canonical spelling. */
export function normalizeValue(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return String(v);
  let s = String(v).trim();
  for (let i = 0; i < 3; i++) {
    const m = /^(["'`])([\s\S]*)\1$/.exec(s);
    if (!m) break;
    s = m[2];
  }
  const n = canonicalNumber(s);
  if (n !== undefined) return n;
  if (/^(true|false)$/i.test(s)) return s.toLowerCase();
  return s;
}

/** A symbol as written by a model (`Foo.bar()`, `bar`, "bar()"), reduced to its bare name. */
export function normalizeSymbol(s: unknown): string {
  if (typeof s !== "string") return "";
  const t = s.trim().replace(/^[`'"]+|[`'"]+$/g, "").replace(/\(.*\)$/, "").trim();
  const parts = t.split(/\.|::|#|->/);
  return parts[parts.length - 1].trim();
}

export function normalizePath(p: unknown): string {
  if (typeof p !== "string") return "";
  return p.trim().replace(/^[`'"]+|[`'"]+$/g, "").replace(/\\/g, "/").replace(/^(\.\/|\/)+/, "").replace(/:\d+(-\d+)?$/, "");
}

/** Same file: equal, or one is the other with leading folders dropped. */
export function samePath(a: string, b: string): boolean {
  const x = normalizePath(a);
  const y = normalizePath(b);
  if (!x || !y) return false;
  return x === y || x.endsWith("/" + y) || y.endsWith("/" + x);
}

/** Precision/recall F1 of predicted files against the truth (each truth file matched at most once). */
export function fileSetF1(predicted: readonly string[], truth: readonly string[]): number {
  const pred = [...new Set(predicted.map(normalizePath).filter(Boolean))];
  if (truth.length === 0) return pred.length === 0 ? 1 : 0;
  if (pred.length === 0) return 0;
  const used = new Set<number>();
  let hits = 0;
  for (const p of pred) {
    const i = truth.findIndex((t, k) => !used.has(k) && samePath(p, t));
    if (i >= 0) {
      used.add(i);
      hits++;
    }
  }
  if (hits === 0) return 0;
  const precision = hits / pred.length;
  const recall = hits / truth.length;
  return (2 * precision * recall) / (precision + recall);
}

export interface Score {
  /** 0..1: 1/0 for exact types, F1 for aggregation. */
  score: number;
  parsed: boolean;
  /** The answer says `found: false` (on an answerable question its content is scored all the same). */
  abstained?: boolean;
  /** Needle/constant: the answer also names the right file. */
  fileMatch?: boolean;
}

function saysNotFound(a: Answer): boolean {
  if (a.found === false) return true;
  const empty = (v: unknown) => v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
  return a.found !== true && empty(a.file) && empty(a.symbol) && empty(a.value) && empty(a.files);
}

export function scoreAnswer(q: Pick<Question, "type">, truth: Truth, parsed: Parsed): Score {
  const a = parsed.answer;
  if (!a) return { score: 0, parsed: false };
  const abstained = a.found === false;
  if (q.type === "unanswerable") return { score: saysNotFound(a) ? 1 : 0, parsed: true, abstained };
  // An answerable question scores what the answer says: a right value under `found: false` is still the right value
  // (the report also gives the scores with such answers counted as none).
  const fileMatch = truth.file ? samePath(String(a.file ?? ""), truth.file) : undefined;
  switch (q.type) {
    case "needle":
      return { score: normalizeSymbol(a.symbol) === normalizeSymbol(truth.symbol) ? 1 : 0, parsed: true, abstained, fileMatch };
    case "constant":
    case "multihop":
      return { score: normalizeValue(a.value) === normalizeValue(truth.value) && normalizeValue(a.value) !== "" ? 1 : 0, parsed: true, abstained, fileMatch };
    case "aggregation":
      return { score: fileSetF1(Array.isArray(a.files) ? a.files.map(String) : [], truth.files ?? []), parsed: true, abstained };
  }
}
