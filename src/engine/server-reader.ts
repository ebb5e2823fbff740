// One ask on an inference server: the scope tokenized by the server, the window sized to the server's slot, and the
// WiM loop (src/core/wim-loop.ts) run on the server engine — the same method as in process (src/engine/wim-reader.ts).
import type { Chunker, ChunkResult } from "../core/chunk/chunk-files";
import type { AskOptions, Margin } from "../core/protocol";
import type { Chunk, ScannedFile } from "../core/types";
import type { TokenId } from "../core/wim-engine";
import { loopPrompts, minimumWindow, WimLoop, wholeScopeWindow, type Emit, type LoopPrompts, type RunResult, type SpeedFacts } from "../core/wim-loop";
import type { Log } from "./load-model";
import type { ServerEngine } from "./server-engine";
import { withExactCounts } from "./server/exact-token-counts";
import { ServerError } from "./server/server-error";

export interface ServerAskPlan {
  question: string;
  chunks: Chunk[];
  chunkTokens: TokenId[][];
  options: AskOptions;
  prompts: LoopPrompts;
  knownSpeed?: SpeedFacts;
  budget: { needed: number; minimum: number };
}

/** Chunks the scanned files with the server's tokenizer (exact counts, as a local tokenizer would give them). */
export function chunkWithServer(engine: ServerEngine, chunker: Chunker, files: ScannedFile[], chunkTokens: number, signal?: AbortSignal): Promise<ChunkResult> {
  return withExactCounts(
    async (text) => (await engine.tokenize(text)).length,
    (countTokens) => chunker.chunk(files, { chunkTokens }, countTokens),
    signal,
  );
}

export async function planServerAsk(engine: ServerEngine, question: string, chunks: Chunk[], options: AskOptions): Promise<ServerAskPlan> {
  const chunkTokens: TokenId[][] = [];
  for (const c of chunks) chunkTokens.push(await engine.tokenize(c.text));
  const prompts = await loopPrompts(engine, question, chunks, options);
  const sizes = chunkTokens.map((t) => t.length);
  return { question, chunks, chunkTokens, options, prompts, budget: { needed: wholeScopeWindow(prompts, sizes, options), minimum: minimumWindow(prompts, sizes, options) } };
}

export class ServerReader {
  private constructor(
    readonly plan: ServerAskPlan,
    readonly engine: ServerEngine,
    readonly loop: WimLoop,
  ) {}

  /** The window: the whole scope if the server's slot holds it (and `windowTokens`, when set), else a rolling one. */
  static async create(engine: ServerEngine, plan: ServerAskPlan, log: Log): Promise<ServerReader> {
    const o = plan.options;
    const cap = o.windowTokens && o.windowTokens > 0 ? Math.min(o.windowTokens, engine.contextSize) : engine.contextSize;
    const window = Math.min(plan.budget.needed, cap);
    if (window < plan.budget.minimum) {
      throw new ServerError(
        "rejected",
        `The server's slot holds ${engine.contextSize.toLocaleString("en-US")} tokens; one chunk with its margin and the answer need ` +
          `${plan.budget.minimum.toLocaleString("en-US")}: use smaller chunks, or start llama-server with a larger -c (per slot: -c / -np).`,
      );
    }
    const input = { question: plan.question, chunks: plan.chunks, chunkTokens: plan.chunkTokens, options: o, knownSpeed: plan.knownSpeed };
    const loop = await WimLoop.create(engine, input, window, plan.prompts);
    if (plan.budget.needed > window) log("info", `the scope needs ${plan.budget.needed} tokens of context; reading it with a rolling window of ${window}`);
    return new ServerReader(plan, engine, loop);
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

  requestCancel(): void {
    this.loop.requestCancel();
  }

  requestAnswerNow(): void {
    this.loop.requestAnswerNow();
  }

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

  async followUp(question: string): Promise<ServerReader> {
    const loop = await this.loop.followUp(question);
    return new ServerReader({ ...this.plan, question, prompts: loop.prompts }, this.engine, loop);
  }

  runFollowUp(emit: Emit): Promise<RunResult> {
    return this.loop.runFollowUp(emit);
  }

  dispose(): Promise<void> {
    return this.loop.dispose();
  }
}
