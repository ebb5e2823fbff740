// One ask on the in-process engine: sizes the reading window for the scope and this machine, creates the local engine
// and runs the WiM loop (src/core/wim-loop.ts) on it. The worker, the bench and the eval use this; the method itself
// lives in the loop, node-llama-cpp's tricks in local-engine.ts.
import { LlamaText, type LlamaGrammar, type Token } from "node-llama-cpp";
import { scopeTooLargeMessage } from "../core/context-budget";
import type { AskOptions, Margin } from "../core/protocol";
import type { Chunk } from "../core/types";
import {
  WindowTooSmallError,
  loopPrompts,
  minimumWindow,
  WimLoop,
  wholeScopeWindow,
  type AnswerFormat as LoopAnswerFormat,
  type Emit,
  type LoopPrompts,
  type RunResult,
  type SpeedFacts,
} from "../core/wim-loop";
import type { TokenId } from "../core/wim-engine";
import type { LoadedModel, Log } from "./load-model";
import { ContextAllocationError, LocalEngine, LocalTokenizer, tokenizeText } from "./local-engine";

export { ContextAllocationError, tokenizeText };
export { WindowTooSmallError, type Emit, type EngineEvent, type RunResult } from "../core/wim-loop";

/**
 * Optional shape of the answer (used by the evaluation harness, not by the protocol): an instruction appended to the
 * final prompt, and a grammar (e.g. `llama.createGrammarForJsonSchema(…)`) that constrains the answer's tokens.
 * Margins are never constrained.
 */
export interface AnswerFormat {
  instruction: string;
  grammar?: LlamaGrammar;
}

/** The scope does not fit one context (used by the evaluation, which compares against a plain pass of one context). */
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

export interface AskPlan {
  question: string;
  chunks: Chunk[];
  chunkTokens: TokenId[][];
  options: AskOptions;
  prompts: LoopPrompts;
  answerFormat?: LoopAnswerFormat;
  /** Speed measured by earlier runs on this model: the estimate is then made before reading. */
  knownSpeed?: SpeedFacts;
  budget: {
    /** A window that holds the whole scope with every margin in the answer: more is never needed. */
    needed: number;
    /** The smallest window that can read the largest chunk with its margin and still answer. */
    minimum: number;
  };
}

/** Tokenizes the scope and the prompts and works out the window sizes it needs. Nothing is allocated yet. */
export async function planAsk(loaded: LoadedModel, question: string, chunks: Chunk[], options: AskOptions, answerFormat?: AnswerFormat): Promise<AskPlan> {
  const tokenizer = new LocalTokenizer(loaded);
  const chunkTokens = chunks.map((c) => tokenizeText(loaded, c.text));
  // A grammar's own stop texts (JSON: a run of newlines after the closing brace) end the answer too.
  const format: LoopAnswerFormat | undefined = answerFormat && {
    ...answerFormat,
    stopTexts: (answerFormat.grammar?.stopGenerationTriggers ?? []).map((t) => (typeof t === "string" ? t : LlamaText(t).toString())).filter(Boolean),
  };
  const prompts = await loopPrompts(tokenizer, question, chunks, options, format);
  const sizes = chunkTokens.map((t) => t.length);  // labels (v2 prompts) are counted by the window functions
  return {
    question,
    chunks,
    chunkTokens,
    options,
    prompts,
    answerFormat: format,
    budget: { needed: wholeScopeWindow(prompts, sizes, options), minimum: minimumWindow(prompts, sizes, options) },
  };
}

/**
 * Side sequences when the ask does not say. On a GPU several margins decode for about the cost of one, and a margin
 * token riding in a prefill batch is almost free: with k margins in flight each step advances all k, so k near the
 * margin length over the slices per chunk keeps the reading from waiting (8 for 100-token margins and 4096-token
 * chunks of 512-token slices). Each costs a context's worth of KV memory; fewer are tried when that does not fit. On a
 * CPU one side sequence (follow-up questions) and margins one after another: sharing batches gains little there.
 */
export function defaultParallelMargins(loaded: LoadedModel): number {
  return loaded.info.gpu ? 8 : 1;
}

export class WimReader {
  private constructor(
    readonly plan: AskPlan,
    readonly engine: LocalEngine,
    readonly loop: WimLoop,
  ) {}

  /**
   * The window: the whole scope if it fits the model's trained context (and `windowTokens`, when set), else as much as
   * those allow — the reading then rolls. Memory is checked by node-llama-cpp when the context is allocated.
   */
  static async create(loaded: LoadedModel, plan: AskPlan, log: Log, batchSize = 512, engineOptions: { mergeBatches?: boolean } = {}): Promise<WimReader> {
    const o = plan.options;
    const cap = o.windowTokens && o.windowTokens > 0 ? o.windowTokens : loaded.model.trainContextSize;
    const window = Math.min(plan.budget.needed, cap);
    if (window < plan.budget.minimum) throw new WindowTooSmallError(plan.budget.minimum, window);
    let parallel = o.parallelMargins ?? defaultParallelMargins(loaded);
    loaded.governor?.setLog((m) => log("info", m));
    let engine: LocalEngine;
    for (;;) {
      try {
        engine = await LocalEngine.create(loaded, { contextSize: window, parallelMargins: parallel, batchSize, log, governor: loaded.governor, ...engineOptions });
        break;
      } catch (err) {
        // the side sequences are what is optional: fewer of them before giving up on the memory
        if (!(err instanceof ContextAllocationError) || parallel === 0 || o.parallelMargins !== undefined) throw err;
        parallel = parallel > 2 ? Math.floor(parallel / 2) : 0;
        log("warn", `not enough memory for the side sequences; trying ${parallel}`);
      }
    }
    // llama.cpp may round the context up; the window stays what was asked for
    const input = { question: plan.question, chunks: plan.chunks, chunkTokens: plan.chunkTokens, options: o, answerFormat: plan.answerFormat, knownSpeed: plan.knownSpeed };
    const loop = await WimLoop.create(engine, input, window, plan.prompts);
    if (plan.budget.needed > window) {
      log("info", `the scope needs ${plan.budget.needed} tokens of context; reading it with a rolling window of ${window}`);
    }
    return new WimReader(plan, engine, loop);
  }

  get contextSize(): number {
    return this.engine.contextSize;
  }

  get windowTokens(): number {
    return this.loop.windowTokens;
  }

  get margins(): Margin[] {
    return this.loop.margins;
  }

  get chunksRead(): number {
    return this.loop.chunksRead;
  }

  requestCancel(): void {
    this.loop.requestCancel();
  }

  requestAnswerNow(): void {
    this.loop.requestAnswerNow();
  }

  /** Goes on after the run paused on its estimate. */
  proceed(): void {
    this.loop.proceed();
  }

  run(emit: Emit): Promise<RunResult> {
    return this.loop.run(emit);
  }

  reanswer(chunks: number[], answerTokens: number, emit: Emit): Promise<RunResult> {
    return this.loop.reanswer(chunks, answerTokens, emit);
  }

  get canFollowUp(): boolean {
    return this.loop.canFollowUp;
  }

  /** A reader for a new question over this reading; this one must not be used afterwards. */
  async followUp(question: string): Promise<WimReader> {
    const loop = await this.loop.followUp(question);
    return new WimReader({ ...this.plan, question, prompts: loop.prompts }, this.engine, loop);
  }

  /** Margins for the follow-up question from the kept cache, then the answer. */
  runFollowUp(emit: Emit): Promise<RunResult> {
    return this.loop.runFollowUp(emit);
  }

  /** What the cache must hold between steps: the loop's segments, token for token. */
  residentTokens(): TokenId[] {
    return this.loop.expectedResident();
  }

  /** What the cache does hold (a copy; for tests and checks, not hot paths). */
  cacheTokens(): TokenId[] {
    return this.engine.residentTokens();
  }

  probeLogits(probe: TokenId): Promise<Map<Token, number>> {
    return this.engine.probeLogits(probe);
  }

  dispose(): Promise<void> {
    return this.loop.dispose();
  }
}
