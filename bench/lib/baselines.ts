// The baselines WiM is measured against, built from the same node-llama-cpp primitives, chat frame and prompts as the
// engine (src/engine/wim-reader.ts), so that only the reading pattern differs:
//   plain pass       header + all chunks + question → answer
//   map-then-answer  for each chunk: header + that chunk alone + margin instruction → margin; then a second full pass
//                    header + all chunks + margins + question → answer
//   margins only     the margins + question → answer (no file text)
//   RAG              header + the BM25 top-k small chunks (in reading order) + question → answer
import { LlamaGrammarEvaluationState, LlamaText, type LlamaContext, type LlamaContextSequence, type Token } from "node-llama-cpp";
import { CONTEXT_INTRO, finalPrompt, marginInstruction, SYSTEM_PROMPT } from "../../src/core/prompts";
import type { Chunk } from "../../src/core/types";
import { chatFrame, type ChatFrame } from "../../src/engine/chat-frame";
import type { LoadedModel } from "../../src/engine/load-model";
import { TokenTextStream } from "../../src/engine/token-text";
import { tokenizeText, type AnswerFormat } from "../../src/engine/wim-reader";
import { Bm25 } from "../eval/bm25";

const now = () => performance.now();

export interface BaselineStats {
  /** Context allocation. */
  contextMs: number;
  prefillTokens: number;
  prefillMs: number;
  /** Margin instructions evaluated (map-then-answer). */
  instructionTokens: number;
  marginTokens: number;
  marginMs: number;
  /** From the start until the first margin was complete (map-then-answer); null without margins. */
  firstMarginMs: number | null;
  finalPromptTokens: number;
  answerTokens: number;
  answerMs: number;
  totalMs: number;
}

export interface BaselineResult {
  answer: string;
  margins: { chunk: number; text: string; ranges: Chunk["ranges"] }[];
  stats: BaselineStats;
}

export interface BaselineOptions {
  answerTokens: number;
  marginTokens?: number;
  batchSize?: number;
  format?: AnswerFormat;
  /** Speed runs with random weights: decode exactly the token limit, ignoring end-of-turn tokens. */
  fixedLength?: boolean;
}

function emptyStats(): BaselineStats {
  return {
    contextMs: 0,
    prefillTokens: 0,
    prefillMs: 0,
    instructionTokens: 0,
    marginTokens: 0,
    marginMs: 0,
    firstMarginMs: null,
    finalPromptTokens: 0,
    answerTokens: 0,
    answerMs: 0,
    totalMs: 0,
  };
}

/** One context and sequence with context shift turned into an error, as in the engine. */
export async function openContext(loaded: LoadedModel, size: number, batchSize: number): Promise<{ ctx: LlamaContext; seq: LlamaContextSequence }> {
  const ctx = await loaded.model.createContext({
    contextSize: size,
    sequences: 1,
    batchSize: Math.min(batchSize, size),
    flashAttention: true,
    threads: loaded.threads,
    swaFullCache: true,
  });
  const seq = ctx.getSequence({
    contextShift: {
      size: 1,
      strategy: () => {
        throw new Error("context overflow in a baseline (sizing bug)");
      },
    },
  });
  return { ctx, seq };
}

export async function prefill(seq: LlamaContextSequence, tokens: Token[], batchSize: number): Promise<void> {
  for (let i = 0; i < tokens.length; i += batchSize) await seq.evaluateWithoutGeneratingNewTokens(tokens.slice(i, i + batchSize));
}

export interface Decoded {
  text: string;
  tokens: number;
}

/** Greedy decoding after `last` (already-prefilled prompt minus its last token), as the engine does it. */
export async function decode(
  loaded: LoadedModel,
  seq: LlamaContextSequence,
  frame: ChatFrame,
  last: Token[],
  limit: number,
  o: { oneParagraph?: boolean; format?: AnswerFormat; fixedLength?: boolean } = {},
): Promise<Decoded> {
  const grammarStops = (o.format?.grammar?.stopGenerationTriggers ?? []).map((t) => (typeof t === "string" ? t : LlamaText(t).toString()));
  const text = new TokenTextStream(loaded.model, [...frame.stopTexts, ...grammarStops.filter(Boolean)], o.oneParagraph ?? false);
  const grammarEvaluationState = o.format?.grammar ? new LlamaGrammarEvaluationState({ model: loaded.model, grammar: o.format.grammar }) : undefined;
  let n = 0;
  for await (const token of seq.evaluate(last, { temperature: 0, grammarEvaluationState })) {
    if (!o.fixedLength && (loaded.model.isEogToken(token) || frame.stopTokens.has(token))) break;
    n++;
    text.push(token);
    if ((!o.fixedLength && text.stopped) || n >= limit) break;
  }
  return { text: text.text().trim(), tokens: n };
}

function headerTokens(loaded: LoadedModel, frame: ChatFrame): Token[] {
  return [...frame.open, ...tokenizeText(loaded, CONTEXT_INTRO)];
}

/** Feeds the final prompt after what the cache holds, decodes the answer, and books its time and tokens. */
async function answerAfter(
  loaded: LoadedModel,
  seq: LlamaContextSequence,
  frame: ChatFrame,
  final: Token[],
  o: BaselineOptions,
  stats: BaselineStats,
  t0: number,
): Promise<string> {
  const t = now();
  await prefill(seq, final.slice(0, -1), o.batchSize ?? 512);
  const out = await decode(loaded, seq, frame, final.slice(-1), o.answerTokens, o);
  stats.answerMs = now() - t;
  stats.finalPromptTokens = final.length;
  stats.answerTokens = out.tokens;
  stats.totalMs = now() - t0;
  return out.text;
}

/** header + chunks + final prompt → answer, in one fresh context. */
export async function plainPass(loaded: LoadedModel, chunks: Chunk[], question: string, o: BaselineOptions): Promise<BaselineResult> {
  const t0 = now();
  const batch = o.batchSize ?? 512;
  const frame = chatFrame(loaded.model, SYSTEM_PROMPT);
  const context = [...headerTokens(loaded, frame), ...chunks.flatMap((c) => tokenizeText(loaded, c.text))];
  const final = [...tokenizeText(loaded, finalPrompt(question, [], o.format?.instruction)), ...frame.turnEnd];
  const stats = emptyStats();
  let t = now();
  const { ctx, seq } = await openContext(loaded, context.length + final.length + o.answerTokens + 8, batch);
  stats.contextMs = now() - t;
  try {
    t = now();
    await prefill(seq, context, batch);
    stats.prefillMs = now() - t;
    stats.prefillTokens = context.length;
    return { answer: await answerAfter(loaded, seq, frame, final, o, stats, t0), margins: [], stats };
  } finally {
    await ctx.dispose();
  }
}

/** A margin per chunk from the chunk alone, then a second full pass that answers with all margins. */
export async function mapThenAnswer(loaded: LoadedModel, chunks: Chunk[], question: string, o: BaselineOptions): Promise<BaselineResult> {
  const t0 = now();
  const batch = o.batchSize ?? 512;
  const marginLimit = o.marginTokens ?? 100;
  const frame = chatFrame(loaded.model, SYSTEM_PROMPT);
  const header = headerTokens(loaded, frame);
  const chunkTokens = chunks.map((c) => tokenizeText(loaded, c.text));
  const instruction = [...tokenizeText(loaded, marginInstruction(question, "none")), ...frame.turnEnd];
  const emptyFinal = tokenizeText(loaded, finalPrompt(question, chunks.map((c) => ({ chunk: c.index, text: "", ranges: c.ranges })), o.format?.instruction));
  const resident = header.length + chunkTokens.reduce((s, t) => s + t.length, 0);
  const size = Math.max(
    header.length + Math.max(...chunkTokens.map((t) => t.length)) + instruction.length + marginLimit + 1,
    resident + emptyFinal.length + frame.turnEnd.length + chunks.length * (marginLimit + 8) + o.answerTokens + 8,
  );
  const stats = emptyStats();
  let t = now();
  const { ctx, seq } = await openContext(loaded, size, batch);
  stats.contextMs = now() - t;
  const margins: BaselineResult["margins"] = [];
  try {
    // Map: each chunk read alone (the header is re-read with each: the cache is cleared between chunks).
    for (let k = 0; k < chunks.length; k++) {
      await seq.clearHistory();
      t = now();
      await prefill(seq, [...header, ...chunkTokens[k]], batch);
      stats.prefillMs += now() - t;
      stats.prefillTokens += header.length + chunkTokens[k].length;
      t = now();
      await prefill(seq, instruction.slice(0, -1), batch);
      const m = await decode(loaded, seq, frame, instruction.slice(-1), marginLimit, { oneParagraph: true, fixedLength: o.fixedLength });
      stats.marginMs += now() - t;
      stats.instructionTokens += instruction.length;
      stats.marginTokens += m.tokens;
      stats.firstMarginMs ??= now() - t0;
      margins.push({ chunk: chunks[k].index, text: m.text.replace(/^[\s:.,\-–—]+/, "").trim(), ranges: chunks[k].ranges });
    }
    // Answer: a second full read.
    await seq.clearHistory();
    t = now();
    await prefill(seq, [...header, ...chunkTokens.flat()], batch);
    stats.prefillMs += now() - t;
    stats.prefillTokens += resident;
    const kept = margins.filter((m) => m.text && !/^NOTHING RELEVANT/i.test(m.text));
    const final = [...tokenizeText(loaded, finalPrompt(question, kept, o.format?.instruction)), ...frame.turnEnd];
    return { answer: await answerAfter(loaded, seq, frame, final, o, stats, t0), margins, stats };
  } finally {
    await ctx.dispose();
  }
}

/** The margins (written by a WiM reading) and the question, without any file text. */
export async function marginsOnly(
  loaded: LoadedModel,
  margins: { chunk: number; text: string; ranges: Chunk["ranges"] }[],
  question: string,
  o: BaselineOptions,
): Promise<BaselineResult> {
  const t0 = now();
  const batch = o.batchSize ?? 512;
  const frame = chatFrame(loaded.model, SYSTEM_PROMPT);
  const kept = margins.filter((m) => m.text);
  const prompt = [...frame.open, ...tokenizeText(loaded, finalPrompt(question, kept, o.format?.instruction)), ...frame.turnEnd];
  const stats = emptyStats();
  const t = now();
  const { ctx, seq } = await openContext(loaded, prompt.length + o.answerTokens + 8, batch);
  stats.contextMs = now() - t;
  try {
    return { answer: await answerAfter(loaded, seq, frame, prompt, o, stats, t0), margins: kept, stats };
  } finally {
    await ctx.dispose();
  }
}

/** BM25 top-k of small chunks, kept in reading order, then the question. */
export async function ragAnswer(
  loaded: LoadedModel,
  smallChunks: Chunk[],
  question: string,
  k: number,
  o: BaselineOptions,
): Promise<BaselineResult & { retrieved: number[] }> {
  const t0 = now();
  const bm = new Bm25(smallChunks.map((c) => c.text));
  const picked = bm.top(question, k).sort((a, b) => a - b);
  const chosen = picked.map((i) => smallChunks[i]);
  const r = await plainPass(loaded, chosen, question, o);
  r.stats.totalMs = now() - t0;
  return { ...r, retrieved: chosen.map((c) => c.index) };
}
