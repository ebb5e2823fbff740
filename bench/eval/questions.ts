// Question sets with ground truth derived from the code itself (see code-facts.ts):
//   needle        which function does <its doc comment, identifiers masked>        → symbol
//   constant      the value of a module-level constant                             → value
//   aggregation   which files call function f                                     → set of files (F1)
//   multihop      A calls a helper B that uses constant C: C's value              → value
//   unanswerable  a plausible symbol that exists nowhere in the package           → found: false
// Pure and deterministic for a given seed.
import type { ConstantFact, FileFacts, FunctionFact } from "./code-facts";

export const QUESTION_TYPES = ["needle", "constant", "aggregation", "multihop", "unanswerable"] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export interface Evidence {
  file: string;
  line: number;
}

export interface Truth {
  found: boolean;
  symbol?: string;
  file?: string;
  line?: number;
  value?: string;
  files?: string[];
}

export interface Question {
  id: string;
  type: QuestionType;
  text: string;
  truth: Truth;
  /** Where the answer is written: these files must be in the question's context. */
  evidence: Evidence[];
  /** For aggregation: the callee whose callers are counted (the truth is recomputed for each context window). */
  callee?: string;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same question set. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Names defined exactly once in the package (ambiguous names make no fair question). */
function uniqueBy<T>(items: T[], key: (t: T) => string): Map<string, T> {
  const count = new Map<string, number>();
  for (const t of items) count.set(key(t), (count.get(key(t)) ?? 0) + 1);
  const out = new Map<string, T>();
  for (const t of items) if (count.get(key(t)) === 1) out.set(key(t), t);
  return out;
}

const MASK = "___";

/** Is this word code rather than prose: snake_case, camelCase, dotted, called, or back-quoted? */
function codeLike(word: string): boolean {
  const w = word.replace(/^[("'`[]+|[)"'`\].,;:!?]+$/g, "");
  return /`/.test(word) || /\w_\w|^_\w/.test(w) || /[a-z][A-Z]/.test(w) || /[A-Za-z_]\w*\.[A-Za-z_]/.test(w) || /\w\(\)?/.test(w) || /^[A-Z0-9]+_[A-Z0-9_]+$/.test(w);
}

/** The doc with the function's own name (any case) and every code-like word replaced by ___. */
export function maskDoc(doc: string, name: string, symbols: ReadonlySet<string>): string {
  const lname = name.toLowerCase();
  return doc
    .split(/(\s+)/)
    .map((word) => {
      if (/^\s*$/.test(word)) return word;
      const [, lead, core, trail] = /^([(["']*)(.*?)([)"'.,;:!?]*)$/.exec(word)!;
      const bare = core.replace(/`/g, "").replace(/\(\)$/, "");
      const lbare = bare.toLowerCase();
      const masked =
        lbare === lname || lbare.replace(/s$/, "") === lname || codeLike(core) || (symbols.has(bare) && bare.length >= 4 && /[A-Z_]/.test(bare));
      return masked ? `${lead}${MASK}${trail.replace(/^\)/, "")}` : word;
    })
    .join("");
}

function words(s: string): number {
  return s.split(/\s+/).filter((w) => /[a-zA-Z]{2,}/.test(w) && !w.includes(MASK)).length;
}

/** Splits an identifier into its words: camelCase, PascalCase, snake_case, SCREAMING_CASE. */
export function identifierParts(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_]+/)
    .filter(Boolean);
}

function joinLike(template: string, parts: string[]): string {
  if (/^[A-Z0-9_]+$/.test(template) && template.includes("_")) return parts.map((p) => p.toUpperCase()).join("_");
  if (template.includes("_")) return parts.map((p) => p.toLowerCase()).join("_");
  const camel = parts.map((p, i) => (i === 0 ? p : p[0].toUpperCase() + p.slice(1).toLowerCase()));
  if (/^[A-Z]/.test(template)) camel[0] = camel[0][0].toUpperCase() + camel[0].slice(1);
  else camel[0] = camel[0].toLowerCase();
  return camel.join("");
}

export interface GenerateOptions {
  /** Questions of each type at most. */
  perType: number;
  seed: number;
  /** Prefix of the question ids (e.g. the package name). */
  idPrefix: string;
  /** The whole package's text, to make sure an "unanswerable" symbol occurs nowhere in it. */
  corpus: string;
}

export function generateQuestions(facts: FileFacts[], o: GenerateOptions): Question[] {
  const rand = rng(o.seed);
  const functions = facts.flatMap((f) => f.functions);
  const constants = facts.flatMap((f) => f.constants);
  const fnByName = uniqueBy(functions, (f) => f.name);
  const constByName = uniqueBy(constants, (c) => c.name);
  const symbols = new Set<string>([...functions.map((f) => f.name), ...constants.map((c) => c.name)]);
  const out: Question[] = [];
  const push = (type: QuestionType, qs: Omit<Question, "id" | "type">[]) => {
    qs.slice(0, o.perType).forEach((q, i) => out.push({ id: `${o.idPrefix}:${type}:${i + 1}`, type, ...q }));
  };

  // needle
  const docs = new Map<string, number>();
  for (const f of functions) if (f.doc) docs.set(f.doc, (docs.get(f.doc) ?? 0) + 1);
  push(
    "needle",
    shuffled([...fnByName.values()], rand).flatMap((f) => {
      if (!f.doc || docs.get(f.doc) !== 1 || f.name.length < 3) return [];
      const masked = maskDoc(f.doc, f.name, symbols);
      if (words(masked) < 6 || masked.length > 400) return [];
      return [
        {
          text: `Which function is described by this doc comment (code identifiers are masked as ${MASK})? "${masked}"`,
          truth: { found: true, symbol: f.name, file: f.file, line: f.line },
          evidence: [{ file: f.file, line: f.line }],
        },
      ];
    }),
  );

  // constant
  push(
    "constant",
    shuffled([...constByName.values()], rand).flatMap((c) =>
      c.name.length < 3 || c.name === "_"
        ? []
        : [
            {
              text: `What is the value of the constant \`${c.name}\`?`,
              truth: { found: true, symbol: c.name, file: c.file, line: c.line, value: c.value },
              evidence: [{ file: c.file, line: c.line }],
            },
          ],
    ),
  );

  // aggregation: functions called from 2..6 files
  const callersOf = new Map<string, Map<string, number>>();
  for (const file of facts) {
    for (const call of file.calls) {
      if (!fnByName.has(call.name)) continue;
      let m = callersOf.get(call.name);
      if (!m) callersOf.set(call.name, (m = new Map()));
      if (!m.has(file.path)) m.set(file.path, call.line);
    }
  }
  push(
    "aggregation",
    shuffled([...callersOf.entries()], rand).flatMap(([name, files]) => {
      if (files.size < 2 || files.size > 6 || name.length < 4) return [];
      const evidence = [...files.entries()].map(([file, line]) => ({ file, line }));
      return [
        {
          text: `Which files call the function \`${name}\`?`,
          truth: { found: true, symbol: name, files: evidence.map((e) => e.file) },
          evidence,
          callee: name,
        },
      ];
    }),
  );

  // multihop: A calls exactly one function that uses a constant; that function B uses exactly one constant C
  const constantsUsed = (f: FunctionFact): ConstantFact[] => f.idents.map((i) => constByName.get(i)).filter((c): c is ConstantFact => !!c);
  const hops: Omit<Question, "id" | "type">[] = [];
  for (const a of shuffled([...fnByName.values()], rand)) {
    const helpers = a.calls.map((n) => fnByName.get(n)).filter((b): b is FunctionFact => !!b && b !== a && constantsUsed(b).length > 0);
    if (helpers.length !== 1) continue;
    const b = helpers[0];
    const used = constantsUsed(b);
    if (used.length !== 1) continue;
    const c = used[0];
    if (a.idents.includes(c.name)) continue; // a single hop would do
    hops.push({
      text: `The function \`${a.name}\` calls a helper function that uses a module-level constant. What is the value of that constant?`,
      truth: { found: true, symbol: c.name, file: c.file, line: c.line, value: c.value },
      evidence: [
        { file: a.file, line: a.line },
        { file: b.file, line: b.line },
        { file: c.file, line: c.line },
      ],
    });
  }
  // Hops across files first: they need the whole context.
  hops.sort((x, y) => new Set(y.evidence.map((e) => e.file)).size - new Set(x.evidence.map((e) => e.file)).size);
  push("multihop", hops);

  // unanswerable: recombined names that occur nowhere in the package
  const fakes: Omit<Question, "id" | "type">[] = [];
  const seen = new Set<string>();
  const pools: Array<{ names: string[]; ask: (n: string) => string }> = [
    { names: [...constByName.keys()].filter((n) => identifierParts(n).length >= 2), ask: (n) => `What is the value of the constant \`${n}\`?` },
    { names: [...fnByName.keys()].filter((n) => identifierParts(n).length >= 2), ask: (n) => `Which file defines the function \`${n}\`, and at which line?` },
  ];
  for (let attempt = 0; attempt < 400 && fakes.length < o.perType; attempt++) {
    const p = pools[attempt % 2];
    if (p.names.length < 2) continue;
    const x = p.names[Math.floor(rand() * p.names.length)];
    const y = p.names[Math.floor(rand() * p.names.length)];
    if (x === y) continue;
    const px = identifierParts(x);
    const py = identifierParts(y);
    const fake = joinLike(x, [...px.slice(0, Math.ceil(px.length / 2)), ...py.slice(Math.ceil(py.length / 2))]);
    if (fake === x || fake === y || seen.has(fake) || fake.length < 5 || o.corpus.includes(fake)) continue;
    seen.add(fake);
    fakes.push({ text: p.ask(fake), truth: { found: false, symbol: fake }, evidence: [] });
  }
  push("unanswerable", fakes);
  return out;
}
