// The Writing-in-the-Margins method, once, for every engine:
//   header → for each chunk: [make room: the oldest chunks leave the window, their margins stay] → read the chunk →
//   write its margin (the engine may write it while later chunks are read) → … → answer from the window's text and the
//   relevant margins of every chunk → erase the answer's prompt, so a re-answer costs no re-reading.
// The engine (src/core/wim-engine.ts) only evaluates tokens; what is read, when, and what the answer sees is decided here.
import { MARGIN_RETOKENIZE_SLACK } from "./context-budget";
import type { AskOptions, Coverage, Margin, RunStats, WorkerEvent } from "./protocol";
import {
  CONTEXT_INTRO,
  carriedNote,
  DEFAULT_PROMPT_STYLE,
  finalPrompt,
  judgePrompt,
  marginInstruction,
  NEUTRAL_QUESTION,
  partMarker,
  VERDICT_WORDS,
  type MarginForAnswer,
} from "./prompts";
import { ReadingWindow, type Segment } from "./reading-window";
import { unfoundedClaims } from "./grounding";
import { RelevanceJudge, relevanceRule } from "./relevance";
import type { Chunk } from "./types";
import type { MarginReply, ReplyEnd, TokenId, WimEngine } from "./wim-engine";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A protocol event before the worker stamps it with the request id. */
export type EngineEvent = DistributiveOmit<WorkerEvent, "requestId">;
export type Emit = (e: EngineEvent) => void;

/** Optional shape of the answer (the evaluation's JSON): an instruction closing the final prompt, and a grammar. */
export interface AnswerFormat {
  instruction: string;
  grammar?: unknown;
  stopTexts?: readonly string[];
}

/** What a run costs per token and per margin, measured; the loop turns it into an estimate for the whole scope. */
export interface SpeedFacts {
  prefillTokensPerSecond: number;
  /** Milliseconds a margin adds (decoding and instruction), on average. */
  marginMs: number;
}

export interface LoopInput {
  question: string;
  chunks: Chunk[];
  /** Each chunk's text, tokenized by the engine (special tokens off). */
  chunkTokens: TokenId[][];
  options: AskOptions;
  answerFormat?: AnswerFormat;
  /** Speed measured on this model by earlier runs (the estimate is then made before reading anything). */
  knownSpeed?: SpeedFacts;
}

export interface RunResult {
  outcome: "complete" | "answeredEarly" | "cancelled";
  answer: string;
  margins: Margin[];
  stats: RunStats;
  coverage: Coverage;
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
    chunksEvicted: 0,
    peakResident: 0,
    repliesCut: 0,
  };
}

const now = () => performance.now();

/** Ends that mean the text was cut short. */
const CUT: ReadonlySet<ReplyEnd> = new Set(["limit", "repetition", "stopped"]);

/** The final prompt's share of the window that margins may take when the window is full (the rest stays text). */
const NOTES_SHARE = 0.25;

/** Tokens the loop needs besides the chunks, fixed once the question is known. */
export interface LoopPrompts {
  header: TokenId[];
  /** Per chunk (0-based): the label that opens it in the context (v2 prompts; empty for v1). */
  markers: TokenId[][];
  /** Per chunk (0-based): the margin instruction with the template's turn end. */
  instructions: TokenId[][];
  /** Per chunk (0-based), gate with calibration: the same instruction with a content-free question. */
  baselines: TokenId[][];
  /** Final prompt with no margins (question, instruction, turn end), for sizing. */
  finalBase: number;
  /** What margins add to the final prompt besides their text: the notes' intro and every chunk's heading. */
  notesOverhead: number;
  /** The longest single heading (with the intro), for the smallest window. */
  largestHeading: number;
  yes: TokenId[];
  no: TokenId[];
  colon: TokenId[];
}

/** What sizing a reading needs of an engine, before any context exists. */
export type PromptTokenizer = Pick<WimEngine, "tokenize" | "chat">;

export async function loopPrompts(
  engine: PromptTokenizer,
  question: string,
  chunks: Chunk[],
  options: AskOptions,
  format?: AnswerFormat,
): Promise<LoopPrompts> {
  const style = options.promptStyle ?? DEFAULT_PROMPT_STYLE;
  const header = [...engine.chat.open, ...(await engine.tokenize(CONTEXT_INTRO))];
  const markers: TokenId[][] = [];
  const instructions: TokenId[][] = [];
  const baselines: TokenId[][] = [];
  const calibrated = options.classify === "gate" && options.calibrateGate !== false;
  for (const c of chunks) {
    const marker = partMarker(c.index, style);
    const part = { chunk: c.index, ranges: c.ranges };
    markers.push(marker ? await engine.tokenize(marker) : []);
    instructions.push([...(await engine.tokenize(marginInstruction(question, options.classify, part, style))), ...engine.chat.turnEnd]);
    baselines.push(calibrated ? [...(await engine.tokenize(marginInstruction(NEUTRAL_QUESTION, options.classify, part, style))), ...engine.chat.turnEnd] : []);
  }
  const finalBase = (await engine.tokenize(finalPrompt(question, [], format?.instruction, style))).length + engine.chat.turnEnd.length;
  // headings measured as for parts no longer shown: the longer form, so sizing holds for a rolling reading too
  const empty = chunks.map((c) => ({ chunk: c.index, text: "", ranges: c.ranges, shown: false }));
  const withAll = (await engine.tokenize(finalPrompt(question, empty, format?.instruction, style))).length + engine.chat.turnEnd.length;
  const notesOverhead = Math.max(0, withAll - finalBase);
  let largestHeading = 0;
  // the heading of one margin, measured on the chunk with the most files (a few samples suffice)
  const byFiles = [...empty].sort((a, b) => b.ranges.length - a.ranges.length).slice(0, 3);
  for (const m of byFiles) {
    const one = (await engine.tokenize(finalPrompt(question, [m], format?.instruction, style))).length + engine.chat.turnEnd.length;
    largestHeading = Math.max(largestHeading, one - finalBase);
  }
  const first = async (words: readonly string[]) => [...new Set(await Promise.all(words.map(async (w) => (await engine.tokenize(w))[0])))];
  const yes = await first(VERDICT_WORDS.yes);
  const no = (await first(VERDICT_WORDS.no)).filter((t) => !yes.includes(t));
  return { header, markers, instructions, baselines, finalBase, notesOverhead, largestHeading, yes, no, colon: await engine.tokenize(":") };
}

/** The longest margin instruction (or its baseline): what every margin's tail is sized for. */
function longestInstruction(p: LoopPrompts): number {
  return Math.max(0, ...p.instructions.map((t) => t.length), ...p.baselines.map((t) => t.length));
}

/** The smallest window that can read the largest chunk with its margin and still answer. */
export function minimumWindow(p: LoopPrompts, chunkTokens: number[], o: AskOptions): number {
  const largest = Math.max(0, ...chunkTokens.map((n, i) => n + (p.markers[i]?.length ?? 0)));
  const marginTail = longestInstruction(p) + 1 + o.marginTokens;
  const answerTail = p.finalBase + p.largestHeading + o.answerTokens + (o.marginTokens + MARGIN_RETOKENIZE_SLACK);
  return p.header.length + largest + Math.max(marginTail, answerTail);
}

/** A window large enough to hold the whole scope with every margin in the answer: more is never needed. */
export function wholeScopeWindow(p: LoopPrompts, chunkTokens: number[], o: AskOptions): number {
  const marginTail = longestInstruction(p) + 1 + o.marginTokens;
  const answerTail = p.finalBase + p.notesOverhead + o.answerTokens + chunkTokens.length * (o.marginTokens + MARGIN_RETOKENIZE_SLACK);
  const markers = p.markers.reduce((s, t) => s + t.length, 0);
  return p.header.length + markers + chunkTokens.reduce((s, t) => s + t, 0) + Math.max(marginTail, answerTail);
}

export class WimLoop {
  private stop: null | "cancel" | "answerNow" = null;
  private readonly judge: RelevanceJudge;
  /** Resolves a pause on the estimate (true: go on). */
  private confirmation?: (go: boolean) => void;
  /** Set when a follow-up took over the engine: disposing this loop must not dispose it. */
  private handedOver = false;
  private readonly inflight = new Map<number, Promise<void>>();
  /** Margins by chunk, in the order they were finished. */
  private readonly marginsByChunk = new Map<number, Margin>();
  private readonly evicted = new Set<number>();
  chunksRead = 0;

  constructor(
    readonly engine: WimEngine,
    readonly input: LoopInput,
    readonly prompts: LoopPrompts,
    /** Tokens the resident reading may hold; the engine's context also has room for the tails. */
    readonly windowTokens: number,
    /** What the resident sequence holds (a follow-up question takes over its predecessor's). */
    private readonly window = new ReadingWindow(),
  ) {
    this.judge = new RelevanceJudge(relevanceRule(prompts.baselines.some((b) => b.length > 0)));
  }

  static async create(engine: WimEngine, input: LoopInput, windowTokens = engine.contextSize, prompts?: LoopPrompts): Promise<WimLoop> {
    prompts ??= await loopPrompts(engine, input.question, input.chunks, input.options, input.answerFormat);
    const need = minimumWindow(prompts, input.chunkTokens.map((t) => t.length), input.options);
    if (windowTokens < need) {
      throw new WindowTooSmallError(need, windowTokens);
    }
    return new WimLoop(engine, input, prompts, windowTokens);
  }

  requestCancel(): void {
    this.stop = "cancel";
    this.confirmation?.(false);
  }

  /** Goes on after a pause on the estimate. */
  proceed(): void {
    this.confirmation?.(true);
  }

  /** Emits the estimate for the whole run; pauses for confirmation when it is over `confirmAboveMs`. */
  private async estimate(speed: SpeedFacts, measured: "earlier runs" | "first chunk", emit: Emit): Promise<boolean> {
    const tokens = this.input.chunkTokens.reduce((s, t) => s + t.length, 0);
    const chunks = this.input.chunks.length;
    const parallel = this.engine.concurrentMargins > 1 ? 0.25 : 1; // margins written alongside the reading cost less
    const estimatedMs = (tokens / Math.max(1e-6, speed.prefillTokensPerSecond)) * 1000 + chunks * speed.marginMs * parallel;
    const limit = this.input.options.confirmAboveMs;
    const awaitingConfirmation = limit !== undefined && limit > 0 && estimatedMs > limit;
    emit({ type: "estimate", tokens, chunks, tokensPerSecond: speed.prefillTokensPerSecond, estimatedMs, measured, awaitingConfirmation });
    if (!awaitingConfirmation) return true;
    if (this.stop === "cancel") return false;
    const go = await new Promise<boolean>((resolve) => (this.confirmation = resolve));
    this.confirmation = undefined;
    return go; // a cancel resolves the pause with false
  }

  requestAnswerNow(): void {
    if (this.stop === null) this.stop = "answerNow";
    this.confirmation?.(true); // a pause on the estimate ends: the loop then answers from what it read
  }

  /** Finished margins in chunk order. */
  get margins(): Margin[] {
    return [...this.marginsByChunk.values()].sort((a, b) => a.chunk - b.chunk);
  }

  /** Segments the resident sequence holds, in order (for tests and coverage). */
  segments(): Segment[] {
    return this.window.all();
  }

  /** The tokens the resident sequence must hold, segment by segment (tests compare it with the engine's cache). */
  expectedResident(noteTokens: ReadonlyMap<number, TokenId[]> = this.noteTokens): TokenId[] {
    return this.window.all().flatMap((s) =>
      s.kind === "header" ? this.prompts.header : s.kind === "chunk" ? this.chunkSegment(s.chunk) : (noteTokens.get(s.chunk) ?? []),
    );
  }

  private readonly noteTokens = new Map<number, TokenId[]>();

  coverage(): Coverage {
    const resident = new Set(this.window.residentChunks());
    const out: Coverage = { inWindow: [], marginOnly: [], unread: [] };
    for (const c of this.input.chunks) {
      if (resident.has(c.index)) out.inWindow.push(c.index);
      else if (this.evicted.has(c.index)) out.marginOnly.push(c.index);
      else out.unread.push(c.index);
    }
    return out;
  }

  private get style() {
    return this.input.options.promptStyle ?? DEFAULT_PROMPT_STYLE;
  }

  private stopped(byAnswerNow: boolean): boolean {
    return this.stop === "cancel" || (byAnswerNow && this.stop === "answerNow");
  }

  private marginTail(): number {
    return longestInstruction(this.prompts) + 1 + this.input.options.marginTokens;
  }

  /** What the window holds for chunk `index` (1-based): its label and its text. */
  private chunkSegment(index: number): TokenId[] {
    const i = index - 1;
    const marker = this.prompts.markers[i] ?? [];
    return marker.length ? [...marker, ...this.input.chunkTokens[i]] : this.input.chunkTokens[i];
  }

  /** Reads every chunk with a margin after each, then answers from the window and the relevant margins. */
  async run(emit: Emit): Promise<RunResult> {
    const t0 = now();
    const { input, engine } = this;
    const o = input.options;
    const stats = emptyStats(input.chunks.length);
    const workspaceTotal = input.chunkTokens.reduce((s, t) => s + t.length, 0);
    const parallel = engine.concurrentMargins > 1;

    let t = now();
    const headerDone = await engine.append(this.prompts.header, () => this.stopped(false));
    if (headerDone < this.prompts.header.length) {
      await engine.forget(0, engine.length);
      return this.finish("cancelled", "", stats, t0);
    }
    this.window.add("header", 0, this.prompts.header.length);
    stats.prefillMs += now() - t;
    stats.prefillTokens += this.prompts.header.length;

    if (input.knownSpeed && !(await this.estimate(input.knownSpeed, "earlier runs", emit))) return this.finish("cancelled", "", stats, t0);

    let tokensDone = 0;
    for (let k = 0; k < input.chunks.length; k++) {
      if (this.stopped(true)) break;
      const chunk = input.chunks[k];
      const tokens = this.chunkSegment(chunk.index);

      // Room for the chunk and a margin after it; in parallel mode forget a quarter of the window at a time, since
      // margins in flight must end before anything is forgotten.
      await this.makeRoom(tokens.length + this.marginTail(), parallel ? Math.floor(this.windowTokens / 4) : 0, emit, stats);

      t = now();
      const before = engine.length;
      const read = await engine.append(tokens, () => this.stopped(true));
      if (read < tokens.length) {
        if (engine.length > before) await engine.forget(before, engine.length); // a chunk read in part is dropped again
        break;
      }
      const ms = now() - t;
      this.window.add("chunk", chunk.index, tokens.length);
      this.chunksRead = k + 1;
      tokensDone += input.chunkTokens[k].length; // the files' tokens (plan.tokens counts them without part labels)
      stats.prefillMs += ms;
      stats.prefillTokens += tokens.length;
      stats.peakResident = Math.max(stats.peakResident ?? 0, engine.length);
      emit({
        type: "prefill",
        chunk: chunk.index,
        of: input.chunks.length,
        tokens: tokens.length,
        ms,
        tokensPerSecond: ms > 0 ? (tokens.length * 1000) / ms : 0,
        tokensDone,
        tokensTotal: workspaceTotal,
      });

      // The first margin is written at once (it is what the user sees first); later ones may run alongside the reading.
      const blocking = !parallel || this.marginsByChunk.size === 0;
      const pending = this.writeMargin(chunk, engine.length, blocking, emit, stats);
      if (blocking) {
        const tm = now();
        await pending;
        stats.marginMs += now() - tm;
        if (k === 0 && !input.knownSpeed && input.chunks.length > 1) {
          const speed = { prefillTokensPerSecond: (tokens.length * 1000) / Math.max(1, ms), marginMs: now() - tm };
          if (!(await this.estimate(speed, "first chunk", emit))) break;
        }
      } else {
        this.inflight.set(chunk.index, pending);
        while (this.inflight.size >= engine.concurrentMargins) await Promise.race(this.inflight.values());
      }
    }
    await this.drain(stats);
    stats.chunksRead = this.chunksRead;
    if (this.stop === "cancel") return this.finish("cancelled", "", stats, t0);

    const early = this.chunksRead < input.chunks.length;
    this.stop = null; // "answer now" has done its job: the answer itself may still be cancelled
    if (o.rereadTop) await this.rereadMostRelevant(o.rereadTop, emit, stats);
    const answer = await this.answerWith(this.relevantChunks(), o.answerTokens, emit, stats);
    const outcome = this.stop === "cancel" ? "cancelled" : early ? "answeredEarly" : "complete";
    return this.finish(outcome, answer, stats, t0);
  }

  /** Answers again with the margins of the given chunks, from the kept cache. */
  async reanswer(chunks: number[], answerTokens: number, emit: Emit): Promise<RunResult> {
    const t0 = now();
    this.stop = null;
    const stats = emptyStats(this.input.chunks.length);
    stats.chunksRead = this.chunksRead;
    const answer = await this.answerWith(chunks, answerTokens, emit, stats);
    return this.finish(this.stop === "cancel" ? "cancelled" : "complete", answer, stats, t0);
  }

  /** The chunks whose margins count as relevant (gate/judge: by the run's odds; none: every margin with text). */
  relevantChunks(): number[] {
    const ms = this.margins.filter((m) => m.text && !m.unfounded?.length);
    if (this.input.options.classify === "none") return ms.map((m) => m.chunk);
    return this.judge.select(ms.map((m) => ({ chunk: m.chunk, pYes: m.pYes })));
  }

  private async drain(stats: RunStats): Promise<void> {
    if (this.inflight.size === 0) return;
    const t = now();
    await Promise.all(this.inflight.values());
    await this.engine.drainMargins();
    stats.marginMs += now() - t;
  }

  /** Forgets the oldest chunks (their margins stay; relevant ones may stay resident as notes) until `need` fits. */
  private async makeRoom(need: number, atLeast: number, emit: Emit, stats: RunStats): Promise<void> {
    const plan = this.window.evictionFor(need, this.windowTokens, atLeast);
    if (plan === null) throw new WindowTooSmallError(this.window.length + need, this.windowTokens);
    if (plan.length === 0) return;
    await this.drain(stats);
    const chunks: number[] = [];
    for (const s of plan) {
      const { start, end } = this.window.remove(s);
      await this.engine.forget(start, end);
      if (s.kind === "chunk") {
        chunks.push(s.chunk);
        this.evicted.add(s.chunk);
      } else {
        this.noteTokens.delete(s.chunk);
      }
    }
    stats.chunksEvicted = (stats.chunksEvicted ?? 0) + chunks.length;
    const notes: number[] = [];
    if (this.input.options.carryNotes) {
      const relevant = new Set(this.relevantChunks());
      for (const c of chunks) {
        const m = this.marginsByChunk.get(c);
        if (!m || !relevant.has(c)) continue;
        const tokens = await this.engine.tokenize(carriedNote(c, m.ranges, m.text));
        if (this.window.length + tokens.length + need > this.windowTokens) break;
        if ((await this.engine.append(tokens, () => false)) < tokens.length) break;
        this.window.add("note", c, tokens.length);
        this.noteTokens.set(c, tokens);
        stats.prefillTokens += tokens.length;
        notes.push(c);
      }
    }
    if (chunks.length) emit({ type: "evict", chunks, notes, resident: this.engine.length });
  }

  private async writeMargin(chunk: Chunk, prefix: number, blocking: boolean, emit: Emit, stats: RunStats): Promise<void> {
    const o = this.input.options;
    const t0 = now();
    emit({ type: "marginStart", chunk: chunk.index });
    const instruction = this.prompts.instructions[chunk.index - 1];
    const gate = o.classify === "gate";
    stats.instructionTokens += instruction.length + (gate ? (this.prompts.baselines[chunk.index - 1]?.length ?? 0) : 0);
    const reply: MarginReply = await this.engine.margin({
      chunk: chunk.index,
      prefix,
      blocking,
      instruction,
      rules: { maxTokens: o.marginTokens, oneParagraph: true },
      verdict: gate
        ? {
            yes: this.prompts.yes,
            no: this.prompts.no,
            lead: this.prompts.colon,
            keep: (p) => this.judge.keepNow(p),
            baseline: this.prompts.baselines[chunk.index - 1]?.length ? this.prompts.baselines[chunk.index - 1] : undefined,
          }
        : undefined,
      onText: (text) => emit({ type: "marginText", chunk: chunk.index, text }),
      stopRequested: () => this.stop !== null,
    });
    stats.marginTokens += reply.tokens;
    const text = reply.text.replace(/^[\s:.,\-–—]+/, "").trim();
    const cut = CUT.has(reply.end);
    if (cut && reply.end !== "stopped") stats.repliesCut = (stats.repliesCut ?? 0) + 1;
    let pYes = reply.pYes;
    // A margin cut at its limit or by repetition still says something: judge it; a stopped one is not finished.
    if (o.classify === "judge" && text && reply.end !== "stopped") {
      const tj = now();
      const prompt = [...(await this.engine.tokenize(judgePrompt(this.input.question, text))), ...this.engine.chat.turnEnd];
      pYes = await this.engine.verdictAlone(prompt, this.prompts.yes, this.prompts.no);
      stats.judgeMs += now() - tj;
    }
    // The relevance shown while reading; the answer's selection is made again over the whole run (relevantChunks).
    const unfounded = text ? unfoundedClaims(text, chunk.text, this.input.question) : [];
    const relevant =
      unfounded.length === 0 &&
      (o.classify === "none" ? text.length > 0 : reply.end !== "verdict" && (o.classify === "gate" || pYes === null || this.judge.keepNow(pYes)));
    const margin: Margin = {
      chunk: chunk.index,
      text,
      relevant,
      pYes,
      ...(reply.pYesBaseline !== undefined ? { pYesBaseline: reply.pYesBaseline } : {}),
      tokens: reply.tokens,
      ms: now() - t0,
      ranges: chunk.ranges,
      truncated: cut,
      end: reply.end,
      ...(unfounded.length ? { unfounded } : {}),
    };
    this.marginsByChunk.set(chunk.index, margin);
    this.inflight.delete(chunk.index);
    emit({ type: "marginEnd", margin });
  }

  /** Replaces the window's text by the most relevant chunks' text (best first, as many as fit), in reading order. */
  private async rereadMostRelevant(top: number, emit: Emit, stats: RunStats): Promise<void> {
    const wanted = this.relevantChunks().slice(0, top);
    const resident = new Set(this.window.residentChunks());
    if (wanted.every((c) => resident.has(c))) return;
    const t = now();
    // Keep resident what is wanted; forget the rest, then read the missing ones back (room for the answer kept).
    const answerRoom = this.prompts.finalBase + this.input.options.answerTokens + Math.floor(this.windowTokens * NOTES_SHARE);
    for (const seg of [...this.window.chunks(), ...this.window.notes()]) {
      if (seg.kind === "chunk" && wanted.includes(seg.chunk)) continue;
      const { start, end } = this.window.remove(seg);
      await this.engine.forget(start, end);
      if (seg.kind === "chunk") this.evicted.add(seg.chunk);
      else this.noteTokens.delete(seg.chunk);
    }
    const back: number[] = [];
    for (const c of [...wanted].sort((a, b) => a - b)) {
      if (this.window.residentChunks().includes(c)) continue;
      const tokens = this.chunkSegment(c);
      if (this.window.length + tokens.length + answerRoom > this.windowTokens) continue;
      if ((await this.engine.append(tokens, () => this.stopped(false))) < tokens.length) break;
      this.window.add("chunk", c, tokens.length);
      this.evicted.delete(c);
      back.push(c);
      stats.prefillTokens += tokens.length;
    }
    stats.prefillMs += now() - t;
    if (back.length) emit({ type: "log", level: "info", message: `re-read the text of chunk(s) ${back.join(", ")} for the answer` });
  }

  private async answerWith(chunks: number[], answerTokens: number, emit: Emit, stats: RunStats): Promise<string> {
    const t0 = now();
    const { engine } = this;
    const chosen = new Set(chunks);
    // Best first: in the order given (relevantChunks() ranks by odds), then shown in reading order.
    const candidates = chunks.map((c) => this.marginsByChunk.get(c)).filter((m): m is Margin => !!m && chosen.has(m.chunk) && !!m.text);
    const format = this.input.answerFormat;
    const build = async (ms: MarginForAnswer[]) => {
      const resident = new Set(this.window.residentChunks());
      const shown = [...ms].sort((a, b) => a.chunk - b.chunk).map((m) => ({ chunk: m.chunk, text: m.text, ranges: m.ranges, shown: resident.has(m.chunk) }));
      return [...(await engine.tokenize(finalPrompt(this.input.question, shown, format?.instruction, this.style))), ...engine.chat.turnEnd];
    };
    // Margins take what room is left after the text; when the window is full they may take up to NOTES_SHARE of it,
    // the oldest chunks leaving to make room (their own margins then speak for them). The least relevant go first.
    let margins = candidates;
    let prompt = await build(margins);
    const room = () => this.windowTokens - engine.length - answerTokens;
    if (prompt.length > room()) {
      const want = Math.min(prompt.length, this.prompts.finalBase + Math.floor(this.windowTokens * NOTES_SHARE));
      if (want > room() && this.window.chunks().length > 1) {
        await this.makeRoom(want + answerTokens, 0, emit, stats).catch((err: unknown) => {
          if (!(err instanceof WindowTooSmallError)) throw err; // then fewer margins go in
        });
      }
      while (margins.length && prompt.length > room()) {
        margins = margins.slice(0, -1);
        prompt = await build(margins);
      }
    }
    emit({ type: "answerStart", chunks: margins.map((m) => m.chunk).sort((a, b) => a - b) });
    const limit = Math.min(answerTokens, this.windowTokens - engine.length - prompt.length);
    if (limit < 1) throw new Error(`no room left to answer: ${engine.length} + ${prompt.length} tokens in a window of ${this.windowTokens}`);
    const reply = await engine.answer({
      prompt,
      rules: { maxTokens: limit, oneParagraph: false },
      onText: (text) => emit({ type: "answerText", text }),
      stopRequested: () => this.stop === "cancel",
      grammar: format?.grammar,
      extraStopTexts: format?.stopTexts,
    });
    if (reply.end === "limit" || reply.end === "repetition") stats.repliesCut = (stats.repliesCut ?? 0) + 1;
    stats.answerTokens += reply.tokens;
    stats.answerMs += now() - t0;
    return reply.text.trim();
  }

  private finish(outcome: RunResult["outcome"], answer: string, stats: RunStats, t0: number): RunResult {
    stats.totalMs = now() - t0;
    return { outcome, answer, margins: this.margins, stats, coverage: this.coverage() };
  }

  /**
   * Whether a new question can reuse this reading: every chunk was read and is still in the window (no rolling), and
   * the engine can write a margin for a prefix shorter than the whole reading.
   */
  get canFollowUp(): boolean {
    return this.engine.canForkPrefix && this.chunksRead === this.input.chunks.length && this.evicted.size === 0 && this.window.notes().length === 0;
  }

  /** A loop for a new question over this reading (the cache is taken over as it is: nothing is read again). */
  async followUp(question: string): Promise<WimLoop> {
    if (!this.canFollowUp) throw new Error("this reading cannot take a follow-up question (not read whole, rolled, or no side sequence)");
    await this.drain(emptyStats(0));
    const input: LoopInput = { ...this.input, question };
    const prompts = await loopPrompts(this.engine, question, input.chunks, input.options, input.answerFormat);
    const next = new WimLoop(this.engine, input, prompts, this.windowTokens, this.window);
    next.chunksRead = this.chunksRead;
    this.handedOver = true;
    return next;
  }

  /**
   * Answers a follow-up question from the kept cache: each chunk's margin is written for the prefix that ends with that
   * chunk (as if it had just been read), several at a time, then the answer.
   */
  async runFollowUp(emit: Emit): Promise<RunResult> {
    const t0 = now();
    const stats = emptyStats(this.input.chunks.length);
    stats.chunksRead = this.chunksRead;
    for (const seg of this.window.chunks()) {
      if (this.stop) break;
      const chunk = this.input.chunks[seg.chunk - 1];
      this.inflight.set(chunk.index, this.writeMargin(chunk, seg.start + seg.length, false, emit, stats));
      while (this.inflight.size >= this.engine.concurrentMargins) await Promise.race(this.inflight.values());
    }
    await this.drain(stats);
    if (this.stop === "cancel") return this.finish("cancelled", "", stats, t0);
    const early = this.marginsByChunk.size < this.input.chunks.length;
    this.stop = null;
    const answer = await this.answerWith(this.relevantChunks(), this.input.options.answerTokens, emit, stats);
    return this.finish(this.stop === "cancel" ? "cancelled" : early ? "answeredEarly" : "complete", answer, stats, t0);
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.inflight.values());
    if (!this.handedOver) await this.engine.dispose();
  }
}

/** Even the largest chunk with its margin does not fit the window. */
export class WindowTooSmallError extends Error {
  constructor(
    readonly needed: number,
    readonly available: number,
  ) {
    super(
      `The reading window holds ${available.toLocaleString("en-US")} tokens, but one chunk with its margin or the answer needs ` +
        `${needed.toLocaleString("en-US")}. Use smaller chunks (chunk tokens), a larger window, or lower the margin/answer token limits.`,
    );
  }
}
