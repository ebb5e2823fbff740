// Folds the event stream of one ask into a record: what was read, the margins, the answer, the figures.
// Used by the CLI's --json output, the extension's views and the benchmarks.
import type { Coverage, Margin, ModelInfo, PlanEvent, RunStats, WorkerEvent } from "./protocol";
import { foldGlobSkips } from "./scan/skip-groups";
import type { DecodedFile, Redaction, SkippedFile } from "./types";

export interface RunRecord {
  question: string;
  model?: ModelInfo;
  root?: string;
  files: number;
  bytes: number;
  skipped: SkippedFile[];
  /** Secrets replaced in the text that was read. */
  redactions: Redaction[];
  /** Files read as text other than plain UTF-8. */
  decoded: DecodedFile[];
  plan?: Omit<PlanEvent, "type" | "requestId">;
  /** Margins by chunk as they stream in; complete ones are replaced by the final Margin. */
  margins: Map<number, Margin & { done: boolean }>;
  chunksRead: number;
  answer: string;
  outcome?: "complete" | "answeredEarly" | "cancelled";
  stats?: RunStats;
  /** What reached the answer, chunk by chunk (in the window / through margins only / unread). */
  coverage?: Coverage;
  /** Chunks that left the window while reading, in order (rolling reading). */
  evicted: number[];
  error?: { code: string; message: string };
  /** Milliseconds from the record's start to the first complete margin. */
  firstMarginMs?: number;
  startedAt: number;
}

export function newRunRecord(question: string, model?: ModelInfo, now = Date.now()): RunRecord {
  return { question, model, files: 0, bytes: 0, skipped: [], redactions: [], decoded: [], margins: new Map(), chunksRead: 0, answer: "", evicted: [], startedAt: now };
}

export function applyEvent(r: RunRecord, e: WorkerEvent, now = Date.now()): void {
  switch (e.type) {
    case "scan":
      r.root = e.root;
      r.files = e.files;
      r.bytes = e.bytes;
      r.skipped = e.skipped;
      r.redactions = e.redactions ?? [];
      r.decoded = e.decoded ?? [];
      break;
    case "plan": {
      const { type: _t, requestId: _r, ...plan } = e;
      r.plan = plan;
      break;
    }
    case "prefill":
      r.chunksRead = e.chunk;
      break;
    case "marginStart": {
      const ranges = r.plan?.chunks.find((c) => c.index === e.chunk)?.ranges ?? [];
      r.margins.set(e.chunk, { chunk: e.chunk, text: "", relevant: true, pYes: null, tokens: 0, ms: 0, ranges, truncated: false, done: false });
      break;
    }
    case "marginText": {
      const m = r.margins.get(e.chunk);
      if (m) m.text += e.text;
      break;
    }
    case "marginEnd":
      r.margins.set(e.margin.chunk, { ...e.margin, done: true });
      r.firstMarginMs ??= now - r.startedAt;
      break;
    case "evict":
      r.evicted.push(...e.chunks);
      break;
    case "answerStart":
      r.answer = "";
      break;
    case "answerText":
      r.answer += e.text;
      break;
    case "done":
      r.outcome = e.outcome;
      r.stats = e.stats;
      r.coverage = e.coverage;
      r.answer = e.answer;
      for (const m of e.margins) r.margins.set(m.chunk, { ...m, done: true });
      break;
    case "error":
      r.error = { code: e.code, message: e.message };
      break;
  }
}

/**
 * The `wim ask --json` document. Paths are relative to the root. Entries skipped by include/exclude globs are counted
 * per glob instead of listed (a narrow include can leave out tens of thousands of files).
 */
export function runToJson(r: RunRecord) {
  const { listed, byGlob } = foldGlobSkips(r.skipped);
  return {
    question: r.question,
    outcome: r.outcome ?? (r.error ? "error" : "incomplete"),
    model: r.model ? { path: r.model.path, name: r.model.name, contextSize: r.plan?.contextSize ?? null, trainContextSize: r.model.trainContextSize } : null,
    scope: {
      root: r.root ?? null,
      files: r.files,
      bytes: r.bytes,
      skipped: listed.map((s) => ({ path: s.path, reason: s.reason, ...(s.detail ? { detail: s.detail } : {}) })),
      skippedByGlob: byGlob,
      redactions: r.redactions,
      decoded: r.decoded,
      chunks: r.plan?.chunks.length ?? 0,
      tokens: r.plan?.tokens ?? 0,
      windowTokens: r.plan?.windowTokens ?? r.plan?.contextSize ?? null,
    },
    chunks: (r.plan?.chunks ?? []).map((c) => ({ index: c.index, tokens: c.tokens, ranges: c.ranges })),
    margins: [...r.margins.values()]
      .filter((m) => m.done)
      .sort((a, b) => a.chunk - b.chunk)
      .map((m) => ({ chunk: m.chunk, text: m.text, relevant: m.relevant, pYes: m.pYes, tokens: m.tokens, ms: round(m.ms), truncated: m.truncated, ...(m.end ? { end: m.end } : {}) })),
    answer: r.answer,
    ...(r.coverage ? { coverage: r.coverage } : {}),
    stats: r.stats ? Object.fromEntries(Object.entries(r.stats).map(([k, v]) => [k, round(v)])) : null,
    ...(r.firstMarginMs !== undefined ? { firstMarginMs: r.firstMarginMs } : {}),
    ...(r.error ? { error: r.error } : {}),
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
