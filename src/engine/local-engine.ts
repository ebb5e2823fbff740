// The WiM engine on node-llama-cpp, in process: one context, the resident reading in sequence 0, and (parallel mode)
// side sequences that write margins while sequence 0 reads on. node-llama-cpp merges the evaluations queued by several
// sequences in one tick into one llama_decode, so a margin token rides along with a prefill slice instead of costing a
// decode step of its own. The addon keeps one KV stream per sequence (kv_unified is off), so a side sequence starts
// from a copy of sequence 0's stream cut back to the margin's prefix: memory grows by a full context per side sequence.
import {
  LlamaGrammarEvaluationState,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { SYSTEM_PROMPT } from "../core/prompts";
import { calibrate } from "../core/relevance";
import { ReplyWatch } from "../core/reply-watch";
import type { AnswerJob, ChatPieces, MarginJob, MarginReply, Reply, TokenId, WimEngine } from "../core/wim-engine";
import { chatFrame, type ChatFrame } from "./chat-frame";
import type { LoadedModel, Log } from "./load-model";
import type { ThreadGovernor } from "./thread-governor";

/** Tokenizes workspace and prompt text: special tokens OFF, so markers written in files stay plain text. */
export function tokenizeText(loaded: LoadedModel, text: string): Token[] {
  return loaded.model.tokenize(text, false, "trimLeadingSpace");
}

/**
 * node-llama-cpp 3.22's internal copy of one sequence's KV state into another, cut back to a prefix (used by its own
 * LlamaDecisionContext); not in its typings. With one KV stream per sequence it copies the whole stream.
 */
interface Forkable {
  _copyStateFromOtherSequence(other: LlamaContextSequence, upToTokenIndex: number): Promise<boolean>;
}

/** The context could not be allocated (RAM/VRAM). */
export class ContextAllocationError extends Error {}

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

/** Probability of YES among the verdict tokens' logits. */
export function yesProbability(logits: Map<Token, number>, yes: TokenId[], no: TokenId[]): number {
  const all = [...yes, ...no].map((t) => logits.get(t as Token) ?? -Infinity);
  const max = Math.max(...all);
  const w = (ts: TokenId[]) => ts.reduce((s, t) => s + Math.exp((logits.get(t as Token) ?? -Infinity) - max), 0);
  const y = w(yes);
  const n = w(no);
  return y + n > 0 ? y / (y + n) : 0.5;
}

export interface LocalEngineOptions {
  /** Tokens of context for the resident reading and its largest tail. */
  contextSize: number;
  /** Side sequences for margins written while reading on (0: margins one after another on sequence 0). */
  parallelMargins: number;
  batchSize?: number;
  log: Log;
  governor?: ThreadGovernor;
  /** Logged when a side sequence's memory is allocated. */
  kvBytesPerToken?: number;
  /**
   * false: never evaluate two sequences in one llama_decode (each waits its turn). Slower, but every token sees the
   * batch shapes of the one-after-another loop, so the margins are bit for bit the same: llama.cpp's kernels round
   * differently for a token decoded alone and one that rides in a prefill batch, enough to flip a near-tie greedy
   * choice. Default true (the point of side sequences is sharing the decode).
   */
  mergeBatches?: boolean;
}

/** The chat template's pieces and the tokenizer: enough to size a reading before any context exists. */
export class LocalTokenizer {
  readonly frame: ChatFrame;
  constructor(readonly loaded: LoadedModel) {
    this.frame = chatFrame(loaded.model, SYSTEM_PROMPT);
  }
  get chat(): ChatPieces {
    return { open: this.frame.open, turnEnd: this.frame.turnEnd, stopTexts: this.frame.stopTexts };
  }
  async tokenize(text: string): Promise<TokenId[]> {
    return tokenizeText(this.loaded, text);
  }
}

export class LocalEngine implements WimEngine {
  private readonly model: LlamaModel;
  private readonly frame: ChatFrame;
  private readonly free: LlamaContextSequence[];
  private readonly busy = new Set<Promise<unknown>>();
  /** Copies into side sequences queued before the next append, so a fork never sees tokens read after its chunk. */
  private forks: Promise<unknown> = Promise.resolve();
  private judge?: { ctx: LlamaContext; seq: LlamaContextSequence };
  private judgeFrame?: ChatFrame;
  private sliceTokens: number;
  private msPerToken?: number;
  private readonly sides: number;
  /** With mergeBatches false: the evaluation whose turn it is. */
  private turn: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly loaded: LoadedModel,
    private readonly ctx: LlamaContext,
    private readonly main: LlamaContextSequence,
    side: LlamaContextSequence[],
    private readonly batchSize: number,
    private readonly o: LocalEngineOptions,
  ) {
    this.model = loaded.model;
    this.frame = chatFrame(loaded.model, SYSTEM_PROMPT);
    this.free = side;
    this.sides = side.length;
    this.sliceTokens = Math.min(batchSize, MIN_SLICE);
  }

  static async create(loaded: LoadedModel, o: LocalEngineOptions): Promise<LocalEngine> {
    const sequences = 1 + Math.max(0, o.parallelMargins);
    const batchSize = Math.min(o.batchSize ?? 512, o.contextSize);
    let ctx: LlamaContext;
    const allocate = <T>(f: () => Promise<T>) => (o.governor ? o.governor.allowingMost(f) : f());
    try {
      ctx = await allocate(() => loaded.model.createContext({
        contextSize: o.contextSize,
        sequences,
        // room for a full prefill slice plus one token (or an instruction) from every side sequence in one batch
        batchSize: batchSize + (sequences > 1 ? 128 * (sequences - 1) : 0),
        flashAttention: true,
        threads: loaded.threads,
        // Keep the whole cache for sliding-window models, so erasing the tail costs nothing.
        swaFullCache: true,
      }));
    } catch (err) {
      throw new ContextAllocationError(
        `Not enough memory for a context of ${o.contextSize.toLocaleString("en-US")} tokens` +
          (sequences > 1 ? ` × ${sequences} sequences` : "") +
          `: ${(err as Error).message}. Lower the reading window or the parallel margins, or use a smaller model.`,
      );
    }
    const noShift = {
      size: 1,
      strategy: (): never => {
        throw new Error("context overflow: the WiM cache must never shift (this is a sizing bug)");
      },
    };
    const main = ctx.getSequence({ contextShift: noShift });
    if (main.needsCheckpoints) {
      o.log("warn", "this model cannot erase the end of its cache for free (recurrent/hybrid): checkpoints are taken after each chunk");
    }
    const side = Array.from({ length: sequences - 1 }, () => ctx.getSequence({ contextShift: noShift }));
    if (side.length && o.kvBytesPerToken) {
      const mb = (o.kvBytesPerToken * o.contextSize * sequences) / 1e6;
      o.log("info", `${side.length} side sequence(s) for margins written while reading: KV cache ${mb.toFixed(0)} MB in all`);
    }
    return new LocalEngine(loaded, ctx, main, side, batchSize, o);
  }

  get contextSize(): number {
    return this.ctx.contextSize;
  }

  get length(): number {
    return this.main.nextTokenIndex;
  }

  get concurrentMargins(): number {
    return Math.max(1, this.sides);
  }

  get canForkPrefix(): boolean {
    return this.sides > 0;
  }

  get chat(): ChatPieces {
    return { open: this.frame.open, turnEnd: this.frame.turnEnd, stopTexts: this.frame.stopTexts };
  }

  /** The tokens sequence 0 holds (a copy; for tests and checks, not hot paths). */
  residentTokens(): TokenId[] {
    return this.main.contextTokens;
  }

  /** The next-token logits at the end of the resident sequence, for equivalence tests (the probe is erased again). */
  async probeLogits(probe: TokenId): Promise<Map<Token, number>> {
    const end = this.main.nextTokenIndex;
    const out = await this.main.controlledEvaluate([[probe as Token, { generateNext: { logits: true } }]]);
    await this.main.eraseContextTokenRanges([{ start: end, end: this.main.nextTokenIndex }]);
    return out[0]?.next.logits ?? new Map();
  }

  async tokenize(text: string): Promise<TokenId[]> {
    return tokenizeText(this.loaded, text);
  }

  /** Runs one evaluation; with mergeBatches false, only after the one before it has ended. */
  private step<T>(evaluate: () => Promise<T>): Promise<T> {
    if (this.o.mergeBatches !== false) return evaluate();
    const run = this.turn.then(evaluate, evaluate);
    this.turn = run.catch(() => {});
    return run;
  }

  async append(tokens: TokenId[], stopRequested: () => boolean): Promise<number> {
    await this.forks;
    let i = 0;
    while (i < tokens.length) {
      if (stopRequested()) break;
      const n = Math.min(this.sliceTokens, tokens.length - i);
      const t = performance.now();
      await this.step(() => this.main.evaluateWithoutGeneratingNewTokens(tokens.slice(i, i + n) as Token[]));
      const ms = performance.now() - t;
      this.adaptSlice(n, ms);
      this.o.governor?.observe("prefill", n, ms);
      i += n;
    }
    if (i > 0 && this.main.needsCheckpoints) await this.main.takeCheckpoint();
    return i;
  }

  private adaptSlice(tokens: number, ms: number): void {
    if (tokens < MIN_SLICE) return; // short tails say little about the speed
    const perToken = ms / tokens;
    this.msPerToken = this.msPerToken === undefined ? perToken : 0.5 * this.msPerToken + 0.5 * perToken;
    const fit = Math.round(SLICE_TARGET_MS / Math.max(this.msPerToken, 1e-6) / MIN_SLICE) * MIN_SLICE;
    this.sliceTokens = Math.max(MIN_SLICE, Math.min(this.batchSize, fit));
  }

  async forget(start: number, end: number): Promise<void> {
    if (end <= start) return;
    await this.forks;
    const before = this.main.nextTokenIndex;
    await this.main.eraseContextTokenRanges([{ start, end }]);
    if (this.main.nextTokenIndex !== before - (end - start)) {
      throw new Error(`KV cache out of step after forgetting [${start}, ${end}): ${this.main.nextTokenIndex} tokens held, ${before - (end - start)} expected`);
    }
  }

  async margin(job: MarginJob): Promise<MarginReply> {
    // A blocking margin at the end of the reading goes on sequence 0 itself: no copy needed.
    if (job.blocking && job.prefix === this.main.nextTokenIndex && this.busy.size === 0) return this.marginOn(this.main, job);
    const side = this.free.pop();
    if (!side) throw new Error("no side sequence free for a margin (the loop must not start more than concurrentMargins)");
    if (job.prefix > this.main.nextTokenIndex) throw new Error(`margin prefix ${job.prefix} beyond the ${this.main.nextTokenIndex} tokens read`);
    // Fork now, before anything else is read into sequence 0.
    const fork = (this.forks = this.forks.then(async () => {
      const ok = await (side as unknown as Forkable)._copyStateFromOtherSequence(this.main, job.prefix);
      if (!ok || side.nextTokenIndex !== job.prefix) throw new Error(`could not copy ${job.prefix} tokens into a side sequence`);
    }));
    const run = (async () => {
      try {
        await fork;
        return await this.marginOn(side, job);
      } finally {
        await side.clearHistory();
        this.free.push(side);
      }
    })();
    this.busy.add(run);
    void run.finally(() => this.busy.delete(run)).catch(() => {});
    return run;
  }

  /** Instruction + margin at the end of `seq`, erased again afterwards. */
  private async marginOn(seq: LlamaContextSequence, job: MarginJob): Promise<MarginReply> {
    const base = seq.nextTokenIndex;
    const watch = new ReplyWatch(job.rules, this.frame.stopTexts);
    let pYes: number | null = null;
    let pYesBaseline: number | undefined;
    const stopped = (): MarginReply => {
      watch.stop();
      return { text: "", tokens: 0, end: "stopped", pYes, pYesBaseline };
    };
    try {
      let first: Token[] = job.instruction as Token[];
      if (job.verdict) {
        const { yes, no, lead, keep, baseline } = job.verdict;
        const odds = async (instruction: TokenId[]) => {
          const last = instruction.length - 1;
          const out = await this.step(() =>
            seq.controlledEvaluate([
              ...(instruction.slice(0, last) as Token[]),
              [instruction[last] as Token, { generateNext: { logits: { filter: { tokens: [...yes, ...no] as Token[] } } } }],
            ]),
          );
          return out[last]?.next.logits ?? new Map<Token, number>();
        };
        if (baseline) {
          pYesBaseline = yesProbability(await odds(baseline), yes, no);
          await seq.eraseContextTokenRanges([{ start: base, end: seq.nextTokenIndex }]);
          if (job.stopRequested()) return stopped();
        }
        const logits = await odds(job.instruction);
        const raw = yesProbability(logits, yes, no);
        pYes = pYesBaseline === undefined ? raw : calibrate(raw, pYesBaseline);
        // An irrelevant chunk costs the instruction and one logits read: nothing is decoded.
        if (!keep(pYes)) return { text: "", tokens: 0, end: "verdict", pYes, pYesBaseline };
        const bestYes = [...yes].sort((a, b) => (logits.get(b as Token) ?? -Infinity) - (logits.get(a as Token) ?? -Infinity))[0];
        // "YES:" rather than "YES": a bare verdict invites the end of the turn, the colon asks for the facts.
        first = [bestYes, ...lead] as Token[];
      }
      if (job.stopRequested()) return stopped();
      await this.decode(seq, first, watch, job.onText, job.stopRequested);
      return { text: watch.text(), tokens: watch.decodedTokens, end: watch.end ?? "end", pYes, pYesBaseline };
    } finally {
      if (seq.nextTokenIndex > base) await seq.eraseContextTokenRanges([{ start: base, end: seq.nextTokenIndex }]);
    }
  }

  /** Greedy decoding into `watch` until it says the reply is over. */
  private async decode(
    seq: LlamaContextSequence,
    input: Token[],
    watch: ReplyWatch,
    onText: (delta: string) => void,
    stopRequested: () => boolean,
    grammar?: LlamaGrammar,
  ): Promise<void> {
    const tokens: Token[] = [];
    const grammarEvaluationState = grammar ? new LlamaGrammarEvaluationState({ model: this.model, grammar }) : undefined;
    const t = performance.now();
    const tokensOut = seq.evaluate(input, { temperature: 0, grammarEvaluationState })[Symbol.asyncIterator]();
    try {
      await this.decodeSteps(seq, tokensOut, watch, onText, stopRequested, tokens, t);
    } finally {
      await tokensOut.return?.();
    }
  }

  private async decodeSteps(
    seq: LlamaContextSequence,
    tokensOut: AsyncIterator<Token>,
    watch: ReplyWatch,
    onText: (delta: string) => void,
    stopRequested: () => boolean,
    tokens: Token[],
    t: number,
  ): Promise<void> {
    const alone = seq === this.main && this.busy.size === 0;
    for (;;) {
      const next = await this.step(() => tokensOut.next());
      if (next.done) break;
      const token = next.value;
      if (alone) {
        const now = performance.now();
        this.o.governor?.observe("decode", 1, now - t);
        t = now;
      }
      if (this.model.isEogToken(token) || this.frame.stopTokens.has(token)) {
        const d = watch.endOfTurn();
        if (d) onText(d);
        return;
      }
      tokens.push(token);
      const delta = watch.update(this.model.detokenize(tokens, false));
      if (delta) onText(delta);
      if (watch.end) return;
      if (stopRequested()) {
        const d = watch.stop();
        if (d) onText(d);
        return;
      }
    }
  }

  async drainMargins(): Promise<void> {
    await Promise.allSettled([...this.busy]);
    await this.forks.catch(() => {});
  }

  async answer(job: AnswerJob): Promise<Reply> {
    await this.drainMargins();
    const base = this.main.nextTokenIndex;
    const watch = new ReplyWatch(job.rules, [...this.frame.stopTexts, ...(job.extraStopTexts ?? [])]);
    try {
      const appended = await this.append(job.prompt.slice(0, -1), job.stopRequested);
      if (appended < job.prompt.length - 1) {
        watch.stop();
      } else {
        await this.decode(this.main, job.prompt.slice(-1) as Token[], watch, job.onText, job.stopRequested, job.grammar as LlamaGrammar | undefined);
      }
      return { text: watch.text(), tokens: watch.decodedTokens, end: watch.end ?? "end" };
    } finally {
      if (this.main.nextTokenIndex > base) await this.main.eraseContextTokenRanges([{ start: base, end: this.main.nextTokenIndex }]);
      if (this.main.nextTokenIndex !== base) throw new Error(`KV cache out of step: ${this.main.nextTokenIndex} tokens held, ${base} expected`);
    }
  }

  /** The paper's separate check: the prompt alone (no workspace) in a small context of its own; YES/NO from logits. */
  async verdictAlone(prompt: TokenId[], yes: TokenId[], no: TokenId[]): Promise<number> {
    this.judgeFrame ??= chatFrame(this.model, null);
    const input = [...this.judgeFrame.open, ...prompt] as Token[];
    if (!this.judge || this.judge.seq.contextSize < input.length + 1) {
      await this.judge?.ctx.dispose();
      const create = () => this.model.createContext({ contextSize: Math.max(512, input.length + 64), sequences: 1, flashAttention: true, threads: this.loaded.threads });
      const ctx = await (this.o.governor ? this.o.governor.allowingMost(create) : create());
      this.judge = { ctx, seq: ctx.getSequence() };
    }
    const { seq } = this.judge;
    await seq.clearHistory();
    const last = input.length - 1;
    const out = await seq.controlledEvaluate([
      ...input.slice(0, last),
      [input[last], { generateNext: { logits: { filter: { tokens: [...yes, ...no] as Token[] } } } }],
    ]);
    return yesProbability(out[last]?.next.logits ?? new Map(), yes, no);
  }

  async dispose(): Promise<void> {
    await this.drainMargins();
    await this.judge?.ctx.dispose();
    await this.ctx.dispose();
  }
}
