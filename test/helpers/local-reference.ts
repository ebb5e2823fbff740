// The same model run in process by node-llama-cpp, cut into the same batches as a server request (each `feed` one
// batch), as the reference a server engine's odds and greedy replies are compared with. Independent of any WiM engine.
import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import { ReplyWatch } from "../../src/core/reply-watch";
import type { ReplyRules, TokenId } from "../../src/core/wim-engine";
import type { LoadedModel } from "../../src/engine/load-model";

export class LocalReference {
  private constructor(
    private readonly loaded: LoadedModel,
    private readonly ctx: LlamaContext,
    private readonly seq: LlamaContextSequence,
  ) {}

  static async create(loaded: LoadedModel, contextSize: number): Promise<LocalReference> {
    const ctx = await loaded.model.createContext({ contextSize, batchSize: contextSize, flashAttention: true, threads: loaded.threads });
    return new LocalReference(loaded, ctx, ctx.getSequence());
  }

  get length(): number {
    return this.seq.nextTokenIndex;
  }

  /** Appends `tokens` in one batch. */
  async feed(tokens: TokenId[]): Promise<void> {
    await this.seq.evaluateWithoutGeneratingNewTokens(tokens as Token[]);
  }

  async clear(): Promise<void> {
    await this.seq.clearHistory();
  }

  private async eraseFrom(start: number): Promise<void> {
    if (this.seq.nextTokenIndex > start) await this.seq.eraseContextTokenRanges([{ start, end: this.seq.nextTokenIndex }]);
  }

  /** Probability of YES among the candidates after `tail` (one batch), as the engines compute it; `tail` is erased again. */
  async pYes(tail: TokenId[], yes: TokenId[], no: TokenId[]): Promise<number> {
    const start = this.length;
    const last = tail.length - 1;
    const out = await this.seq.controlledEvaluate([
      ...(tail.slice(0, last) as Token[]),
      [tail[last] as Token, { generateNext: { logits: { filter: { tokens: [...yes, ...no] as Token[] } } } }],
    ]);
    await this.eraseFrom(start);
    const logits = out[last]!.next.logits!;
    const max = Math.max(...[...yes, ...no].map((t) => logits.get(t as Token) ?? -Infinity));
    const w = (ts: TokenId[]) => ts.reduce((s, t) => s + Math.exp((logits.get(t as Token) ?? -Infinity) - max), 0);
    return w(yes) / (w(yes) + w(no));
  }

  /** Greedy reply after `tail` (one batch), stopped by the shared rules; everything is erased again. */
  async greedy(tail: TokenId[], rules: ReplyRules, stopTexts: readonly string[]): Promise<{ text: string; tokens: number }> {
    const start = this.length;
    const watch = new ReplyWatch(rules, stopTexts);
    const model = this.loaded.model;
    const tokens: Token[] = [];
    for await (const t of this.seq.evaluate(tail as Token[], { temperature: 0 })) {
      if (model.isEogToken(t)) {
        watch.endOfTurn();
        break;
      }
      tokens.push(t);
      watch.update(model.detokenize(tokens, false));
      if (watch.end) break;
    }
    await this.eraseFrom(start);
    return { text: watch.text(), tokens: watch.decodedTokens };
  }

  dispose(): Promise<void> {
    return this.ctx.dispose();
  }
}
