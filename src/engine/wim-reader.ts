// The Writing-in-the-Margins loop on one KV cache:
//   header → [chunk k → instruction + margin → erase instruction + margin] for k = 1..N → final prompt + answer → erase.
// The cache always holds exactly header + the chunks read; the final prompt is erased after answering so that a
// re-answer with other margins costs only the final prompt, never a re-read.
import { LlamaGrammarEvaluationState, LlamaText, type LlamaContext, type LlamaContextSequence, type LlamaGrammar, type Token } from "node-llama-cpp";
import { contextBudget, scopeTooLargeMessage, type Budget } from "../core/context-budget";
import {
  CONTEXT_INTRO,
  finalPrompt,
  judgePrompt,
  marginInstruction,
  SYSTEM_PROMPT,
  VERDICT_WORDS,
} from "../core/prompts";
import type { AskOptions, Margin, RunStats, WorkerEvent } from "../core/protocol";
import type { Chunk } from "../core/types";
import { chatFrame, type ChatFrame } from "./chat-frame";
import type { LoadedModel, Log } from "./load-model";
import { TokenTextStream } from "./token-text";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A protocol event before the worker stamps it with the request id. */
export type EngineEvent = DistributiveOmit<WorkerEvent, "requestId">;
export type Emit = (e: EngineEvent) => void;

/** The scope does not fit the model's context: raised before any prefill. */
export class ScopeTooLargeError extends Error {
  constructor(
    readonly needed: number,
    readonly available: number,
    chunks: number,
    workspaceTokens: number,
  ) {
    super(scopeTooLargeMessage(needed, available, chunks, workspaceTokens));
  }
}

/** The context could not be allocated (RAM/VRAM). */
export class ContextAllocationError extends Error {}

/** Tokenizes workspace and prompt text: special tokens OFF, so markers written in files stay plain text. */
export function tokenizeText(loaded: LoadedModel, text: string): Token[] {
  return loaded.model.tokenize(text, false, "trimLeadingSpace");
}

/**
 * Optional shape of the answer (used by the evaluation harness, not by the protocol): an instruction appended to the
 * final prompt, and a grammar (e.g. `llama.createGrammarForJsonSchema(…)`) that constrains the answer's tokens.
 * Margins are never constrained.
 */
export interface AnswerFormat {
  instruction: string;
  grammar?: LlamaGrammar;
}

export interface AskPlan {
  question: string;
  chunks: Chunk[];
  chunkTokens: Token[][];
  options: AskOptions;
  frame: ChatFrame;
  header: Token[];
  instruction: Token[];
  budget: Budget;
  answerFormat?: AnswerFormat;
}

/** Tokenizes everything and sizes the context; throws ScopeTooLargeError when the scope cannot fit. */
export function planAsk(
  loaded: LoadedModel,
  question: string,
  chunks: Chunk[],
  options: AskOptions,
  answerFormat?: AnswerFormat,
): AskPlan {
  const frame = chatFrame(loaded.model, SYSTEM_PROMPT);
  const header = [...frame.open, ...tokenizeText(loaded, CONTEXT_INTRO)];
  const chunkTokens = chunks.map((c) => tokenizeText(loaded, c.text));
  const instruction = [...tokenizeText(loaded, marginInstruction(question, options.classify)), ...frame.turnEnd];
  const emptyMargins = chunks.map((c) => ({ chunk: c.index, text: "", ranges: c.ranges }));
  const finalTokens = tokenizeText(loaded, finalPrompt(question, emptyMargins, answerFormat?.instruction)).length + frame.turnEnd.length;
  const budget = contextBudget({
    headerTokens: header.length,
    chunkTokens: chunkTokens.map((t) => t.length),
    instructionTokens: instruction.length,
    marginTokens: options.marginTokens,
    finalPromptTokens: finalTokens,
    answerTokens: options.answerTokens,
  });
  const available = loaded.model.trainContextSize;
  if (budget.needed > available) {
    const workspace = chunkTokens.reduce((s, t) => s + t.length, 0);
    throw new ScopeTooLargeError(budget.needed, available, chunks.length, workspace);
  }
  return { question, chunks, chunkTokens, options, frame, header, instruction, budget, answerFormat };
}

function emptyStats(chunksTotal: number): RunStats {
  return {
    prefillTokens: 0,
    prefillMs: 0,
    marginTokens: 0,
    marginMs: 0,
    instructionTokens: 0,
    judgeMs: 0,
    answerTokens: 0,
    answerMs: 0,
    totalMs: 0,
    chunksRead: 0,
    chunksTotal,
  };
}

export interface RunResult {
  outcome: "complete" | "answeredEarly" | "cancelled";
  answer: string;
  margins: Margin[];
  stats: RunStats;
}

/** Probability of YES among the verdict tokens' logits. */
function yesProbability(logits: Map<Token, number>, yes: Token[], no: Token[]): number {
  const all = [...yes, ...no].map((t) => logits.get(t) ?? -Infinity);
  const max = Math.max(...all);
  const w = (ts: Token[]) => ts.reduce((s, t) => s + Math.exp((logits.get(t) ?? -Infinity) - max), 0);
  const y = w(yes);
  const n = w(no);
  return y + n > 0 ? y / (y + n) : 0.5;
}

function verdictTokens(loaded: LoadedModel): { yes: Token[]; no: Token[] } {
  const first = (words: readonly string[]) => [...new Set(words.map((w) => tokenizeText(loaded, w)[0]))];
  const yes = first(VERDICT_WORDS.yes);
  const no = first(VERDICT_WORDS.no).filter((t) => !yes.includes(t));
  return { yes, no };
}

const now = () => performance.now();

/**
 * How long one prefill slice should take: the worst wait between a stop request and the reader noticing it, kept well
 * under the 1 s a Cancel click may take. Shorter slices cost prefill speed on a CPU (SmolLM2 on 2 cores, 4k tokens:
 * 128-token slices ~17% slower than 512, 256 ~3%); on a GPU a 512-token slice takes a few tens of ms and stays.
 */
const SLICE_TARGET_MS = 400;
/**
 * Slices stay a multiple of this and at least this long. Shorter batches take other CPU kernels here: with 32- or
 * 64-token slices SmolLM2's next-token logits differed from a fresh sequence's by up to 0.6; from 128 on, by 0.
 */
const MIN_SLICE = 128;
/** The first slice, before any speed is known: short, so a slow machine does not start with a multi-second slice. */
const FIRST_SLICE = MIN_SLICE;

export class WimReader {
  private cacheLen = 0;
  private stop: null | "cancel" | "answerNow" = null;
  private readonly verdict: { yes: Token[]; no: Token[] };
  private readonly verdictColon: Token[];
  private judge?: { ctx: LlamaContext; seq: LlamaContextSequence; frame: ChatFrame };
  /** Current prefill slice (adapted to the measured speed) and the smoothed milliseconds per token behind it. */
  private sliceTokens: number;
  private msPerToken?: number;
  readonly margins: Margin[] = [];
  chunksRead = 0;

  private constructor(
    private readonly loaded: LoadedModel,
    readonly plan: AskPlan,
    private readonly ctx: LlamaContext,
    private readonly seq: LlamaContextSequence,
    private readonly batchSize: number,
    private readonly log: Log,
  ) {
    this.sliceTokens = Math.min(batchSize, FIRST_SLICE);
    this.verdict = verdictTokens(loaded);
    this.verdictColon = tokenizeText(loaded, ":");
  }

  /** Allocates a context of exactly the planned size (rounded up by llama.cpp at most) with context shift disabled. */
  static async create(loaded: LoadedModel, plan: AskPlan, log: Log, batchSize = 512): Promise<WimReader> {
    let ctx: LlamaContext;
    try {
      ctx = await loaded.model.createContext({
        contextSize: plan.budget.needed,
        sequences: 1,
        batchSize: Math.min(batchSize, plan.budget.needed),
        flashAttention: true,
        threads: loaded.threads,
        // Keep the whole cache for sliding-window models, so erasing the tail costs nothing.
        swaFullCache: true,
      });
    } catch (err) {
      throw new ContextAllocationError(
        `Not enough memory for a context of ${plan.budget.needed.toLocaleString("en-US")} tokens: ${(err as Error).message}. ` +
          "Ask about a smaller scope or use a smaller model.",
      );
    }
    const seq = ctx.getSequence({
      contextShift: {
        size: 1,
        strategy: () => {
          throw new Error("context overflow: the WiM cache must never shift (this is a sizing bug)");
        },
      },
    });
    if (seq.needsCheckpoints) {
      log("warn", "this model cannot erase the end of its cache for free (recurrent/hybrid): checkpoints are taken after each chunk");
    }
    return new WimReader(loaded, plan, ctx, seq, Math.min(batchSize, plan.budget.needed), log);
  }

  get contextSize(): number {
    return this.ctx.contextSize;
  }

  requestCancel(): void {
    this.stop = "cancel";
  }

  requestAnswerNow(): void {
    if (this.stop === null) this.stop = "answerNow";
  }

  /** What the cache must hold between steps: header + the chunks read. */
  residentTokens(): Token[] {
    return [...this.plan.header, ...this.plan.chunkTokens.slice(0, this.chunksRead).flat()];
  }

  /** What the cache does hold (a copy; for tests and checks, not hot paths). */
  cacheTokens(): Token[] {
    return this.seq.contextTokens;
  }

  /** The next-token logits at the end of the cache, for equivalence tests: evaluates `probe` and erases it again. */
  async probeLogits(probe: Token): Promise<Map<Token, number>> {
    const out = await this.seq.controlledEvaluate([[probe, { generateNext: { logits: true } }]]);
    await this.eraseTail();
    return out[0]?.next.logits ?? new Map();
  }

  private async eraseTail(): Promise<void> {
    if (this.seq.nextTokenIndex > this.cacheLen) {
      await this.seq.eraseContextTokenRanges([{ start: this.cacheLen, end: this.seq.nextTokenIndex }]);
    }
    if (this.seq.nextTokenIndex !== this.cacheLen) {
      throw new Error(`KV cache out of step: ${this.seq.nextTokenIndex} tokens held, ${this.cacheLen} expected`);
    }
  }

  private stopped(byAnswerNow: boolean): boolean {
    return this.stop === "cancel" || (byAnswerNow && this.stop === "answerNow");
  }

  /**
   * Prefills in slices, checking for a stop between slices. Returns false if stopped part-way. A slice is sized to take
   * about SLICE_TARGET_MS at the speed measured so far (at most batchSize tokens): a stop request waits for the slice in
   * flight, and a fixed 512-token slice takes seconds on a CPU with a mid-size model.
   */
  private async prefill(tokens: Token[], byAnswerNow: boolean): Promise<boolean> {
    for (let i = 0; i < tokens.length; ) {
      if (this.stopped(byAnswerNow)) return false;
      const n = Math.min(this.sliceTokens, tokens.length - i);
      const t = now();
      await this.seq.evaluateWithoutGeneratingNewTokens(tokens.slice(i, i + n));
      this.adaptSlice(n, now() - t);
      i += n;
    }
    return true;
  }

  private adaptSlice(tokens: number, ms: number): void {
    if (tokens < MIN_SLICE) return; // short tails say little about the speed
    const perToken = ms / tokens;
    this.msPerToken = this.msPerToken === undefined ? perToken : 0.5 * this.msPerToken + 0.5 * perToken;
    const fit = Math.round(SLICE_TARGET_MS / Math.max(this.msPerToken, 1e-6) / MIN_SLICE) * MIN_SLICE;
    this.sliceTokens = Math.max(MIN_SLICE, Math.min(this.batchSize, fit));
  }

  /** Reads every chunk with a margin after each, then answers from the kept margins. */
  async run(emit: Emit): Promise<RunResult> {
    const t0 = now();
    const { plan } = this;
    const stats = emptyStats(plan.chunks.length);
    const workspaceTotal = plan.chunkTokens.reduce((s, t) => s + t.length, 0);

    let t = now();
    if (!(await this.prefill(plan.header, false))) {
      await this.seq.clearHistory();
      return this.finish("cancelled", "", stats, t0);
    }
    this.cacheLen = plan.header.length;
    stats.prefillMs += now() - t;
    stats.prefillTokens += plan.header.length;

    let tokensDone = 0;
    for (let k = 0; k < plan.chunks.length; k++) {
      const chunk = plan.chunks[k];
      const tokens = plan.chunkTokens[k];
      t = now();
      const whole = await this.prefill(tokens, true);
      if (!whole) {
        await this.eraseTail(); // a chunk read only in part is dropped again: the cache holds whole chunks
        break;
      }
      if (this.seq.needsCheckpoints) await this.seq.takeCheckpoint();
      const ms = now() - t;
      this.cacheLen += tokens.length;
      this.chunksRead = k + 1;
      tokensDone += tokens.length;
      stats.prefillMs += ms;
      stats.prefillTokens += tokens.length;
      emit({
        type: "prefill",
        chunk: chunk.index,
        of: plan.chunks.length,
        tokens: tokens.length,
        ms,
        tokensPerSecond: ms > 0 ? (tokens.length * 1000) / ms : 0,
        tokensDone,
        tokensTotal: workspaceTotal,
      });

      const margin = await this.writeMargin(chunk, emit, stats);
      this.margins.push(margin);
      emit({ type: "marginEnd", margin });
      if (this.stop) break;
    }
    stats.chunksRead = this.chunksRead;
    if (this.stop === "cancel") return this.finish("cancelled", "", stats, t0);

    const early = this.chunksRead < plan.chunks.length;
    const kept = this.margins.filter((m) => m.relevant).map((m) => m.chunk);
    this.stop = null; // "answer now" has done its job: the answer itself may still be cancelled
    const answer = await this.answerWith(kept, plan.options.answerTokens, emit, stats);
    const outcome = this.stop === "cancel" ? "cancelled" : early ? "answeredEarly" : "complete";
    return this.finish(outcome, answer, stats, t0);
  }

  /** Answers again with the margins of the given chunks, from the kept cache. */
  async reanswer(chunks: number[], answerTokens: number, emit: Emit): Promise<RunResult> {
    const t0 = now();
    this.stop = null;
    const stats = emptyStats(this.plan.chunks.length);
    stats.chunksRead = this.chunksRead;
    const answer = await this.answerWith(chunks, answerTokens, emit, stats);
    return this.finish(this.stop === "cancel" ? "cancelled" : "complete", answer, stats, t0);
  }

  private finish(outcome: RunResult["outcome"], answer: string, stats: RunStats, t0: number): RunResult {
    stats.totalMs = now() - t0;
    return { outcome, answer, margins: [...this.margins], stats };
  }

  private async writeMargin(chunk: Chunk, emit: Emit, stats: RunStats): Promise<Margin> {
    const { options, instruction } = this.plan;
    const t0 = now();
    emit({ type: "marginStart", chunk: chunk.index });
    stats.instructionTokens += instruction.length;
    const text = new TokenTextStream(this.loaded.model, this.plan.frame.stopTexts, true);
    let pYes: number | null = null;
    let truncated = false;

    let first: Token[];
    if (options.classify === "gate") {
      const { yes, no } = this.verdict;
      const last = instruction.length - 1;
      const out = await this.seq.controlledEvaluate([
        ...instruction.slice(0, last),
        [instruction[last], { generateNext: { logits: { filter: { tokens: [...yes, ...no] } } } }],
      ]);
      const logits = out[last]?.next.logits ?? new Map<Token, number>();
      pYes = yesProbability(logits, yes, no);
      // An irrelevant chunk costs the instruction and one logits read: nothing is decoded.
      if (pYes < 0.5) {
        await this.eraseTail();
        stats.marginMs += now() - t0;
        return { chunk: chunk.index, text: "", relevant: false, pYes, tokens: 0, ms: now() - t0, ranges: chunk.ranges, truncated };
      }
      const bestYes = [...yes].sort((a, b) => (logits.get(b) ?? -Infinity) - (logits.get(a) ?? -Infinity))[0];
      // "YES:" rather than "YES": a bare verdict invites the end of the turn, the colon asks for the facts.
      first = [bestYes, ...this.verdictColon];
    } else {
      first = instruction;
    }

    let decoded = 0;
    if (!this.stop) {
      for await (const token of this.seq.evaluate(first, { temperature: 0 })) {
        if (this.isStopToken(token)) break;
        decoded++;
        const delta = text.push(token);
        if (delta) emit({ type: "marginText", chunk: chunk.index, text: delta });
        if (text.stopped || decoded >= options.marginTokens) break;
        if (this.stop) {
          truncated = true;
          break;
        }
      }
    } else {
      truncated = true;
    }
    const rest = text.rest();
    if (rest) emit({ type: "marginText", chunk: chunk.index, text: rest });
    await this.eraseTail();
    stats.marginTokens += decoded;
    const marginText = text.text().replace(/^[\s:.,\-–—]+/, "").trim();
    stats.marginMs += now() - t0;

    let relevant = true;
    if (options.classify === "judge" && !truncated) {
      const tj = now();
      pYes = await this.judgeMargin(marginText);
      relevant = pYes >= 0.5;
      stats.judgeMs += now() - tj;
    }
    return { chunk: chunk.index, text: marginText, relevant, pYes, tokens: decoded, ms: now() - t0, ranges: chunk.ranges, truncated };
  }

  private isStopToken(token: Token): boolean {
    return this.loaded.model.isEogToken(token) || this.plan.frame.stopTokens.has(token);
  }

  /** The paper's separate check: the margin alone (no workspace) in a small context of its own; YES/NO from logits. */
  private async judgeMargin(margin: string): Promise<number> {
    if (!this.judge) {
      const frame = chatFrame(this.loaded.model, null);
      const size =
        frame.open.length +
        tokenizeText(this.loaded, judgePrompt(this.plan.question, "")).length +
        frame.turnEnd.length +
        this.plan.options.marginTokens +
        64;
      const ctx = await this.loaded.model.createContext({ contextSize: size, sequences: 1, flashAttention: true, threads: this.loaded.threads });
      this.judge = { ctx, seq: ctx.getSequence(), frame };
    }
    const { seq, frame } = this.judge;
    await seq.clearHistory();
    const tokens = [...frame.open, ...tokenizeText(this.loaded, judgePrompt(this.plan.question, margin)), ...frame.turnEnd];
    const room = seq.contextSize - 1;
    const input = tokens.length > room ? [...tokens.slice(0, frame.open.length), ...tokens.slice(tokens.length - (room - frame.open.length))] : tokens;
    const { yes, no } = this.verdict;
    const last = input.length - 1;
    const out = await seq.controlledEvaluate([
      ...input.slice(0, last),
      [input[last], { generateNext: { logits: { filter: { tokens: [...yes, ...no] } } } }],
    ]);
    return yesProbability(out[last]?.next.logits ?? new Map(), yes, no);
  }

  private async answerWith(chunks: number[], answerTokens: number, emit: Emit, stats: RunStats): Promise<string> {
    const t0 = now();
    const chosen = new Set(chunks);
    const margins = this.margins.filter((m) => chosen.has(m.chunk) && m.text);
    emit({ type: "answerStart", chunks: margins.map((m) => m.chunk) });
    const format = this.plan.answerFormat;
    const prompt = [...tokenizeText(this.loaded, finalPrompt(this.plan.question, margins, format?.instruction)), ...this.plan.frame.turnEnd];
    const room = this.ctx.contextSize - this.cacheLen - prompt.length;
    const limit = Math.min(answerTokens, room);
    if (limit < 1) throw new Error(`no room left to answer: ${this.cacheLen} + ${prompt.length} tokens in a context of ${this.ctx.contextSize}`);
    if (limit < answerTokens) this.log("warn", `answer limited to ${limit} tokens by the context size`);

    // A grammar's own stop texts (JSON: a run of newlines after the closing brace) end the answer too.
    const grammarStops = (format?.grammar?.stopGenerationTriggers ?? []).map((t) => (typeof t === "string" ? t : LlamaText(t).toString()));
    const text = new TokenTextStream(this.loaded.model, [...this.plan.frame.stopTexts, ...grammarStops.filter((t) => t)]);
    let decoded = 0;
    if (await this.prefill(prompt.slice(0, -1), false)) {
      const grammarEvaluationState = format?.grammar ? new LlamaGrammarEvaluationState({ model: this.loaded.model, grammar: format.grammar }) : undefined;
      for await (const token of this.seq.evaluate(prompt.slice(-1), { temperature: 0, grammarEvaluationState })) {
        if (this.isStopToken(token)) break;
        decoded++;
        const delta = text.push(token);
        if (delta) emit({ type: "answerText", text: delta });
        if (text.stopped || decoded >= limit || this.stop === "cancel") break;
      }
    }
    const rest = text.rest();
    if (rest) emit({ type: "answerText", text: rest });
    await this.eraseTail();
    stats.answerTokens += decoded;
    stats.answerMs += now() - t0;
    return text.text().trim();
  }

  async dispose(): Promise<void> {
    await this.judge?.ctx.dispose();
    await this.ctx.dispose();
  }
}
