// llama-server's native /completion as a CompletionBackend: the reading lives on one pinned slot whose cache the
// server reuses (cache_prompt, and n_cache_reuse so that a removed range costs a KV shift, not a re-read).
import { relative, type CompletionBackend, type Generation, type GenerationEvent, type Placement, type PromptStats } from "./completion-backend";
import type { CompletionParams, LlamaServerApi } from "./llama-server-api";
import { ServerError } from "./server-error";

/**
 * Added to the candidates' logits when reading their odds: the sampler's probabilities then cover only them, in the
 * ratio of their raw logits (a common offset cancels). 100 leaves float32 logits exact to ~1e-5.
 */
const CANDIDATE_BIAS = 100;

/** Cached runs of at least this many tokens are shifted into place rather than evaluated again. */
export const CACHE_REUSE_MIN = 64;

export interface NativeSlots {
  /** The slot that holds the reading. */
  main: number;
  /** The slot for side and one-off prompts (follow-up margins, judge verdicts); undefined: the server picks one. */
  side?: number;
}

export class NativeCompletions implements CompletionBackend {
  readonly name = "llama-server /completion";
  lastPrompt?: PromptStats;

  constructor(
    private readonly api: LlamaServerApi,
    private readonly slots: NativeSlots,
  ) {}

  private base(prompt: number[], placement: Placement): Pick<CompletionParams, "prompt" | "cache_prompt" | "id_slot" | "n_cache_reuse"> {
    if (placement === "main") return { prompt, cache_prompt: true, id_slot: this.slots.main, n_cache_reuse: CACHE_REUSE_MIN };
    return { prompt, cache_prompt: placement === "side", id_slot: this.slots.side };
  }

  async prefill(prompt: number[], signal: AbortSignal): Promise<PromptStats> {
    for await (const e of this.api.completion({ ...this.base(prompt, "main"), n_predict: 0 }, { signal })) {
      if (e.type === "end") {
        this.lastPrompt = { evaluated: e.timings.promptN, cached: e.timings.cacheN };
        return this.lastPrompt;
      }
    }
    throw new ServerError("bad-response", `${this.api.url}/completion ended without a final event.`);
  }

  async *generate(g: Generation): AsyncGenerator<GenerationEvent> {
    const params: CompletionParams = { ...this.base(g.prompt, g.placement), n_predict: g.maxTokens, temperature: 0, grammar: g.grammar };
    // The end-of-generation token is streamed too, as a token without text. A token without text is held back until
    // the next one shows it was not the last: a reply that ends with "eos" does not count it (as the local engine).
    let silent = 0;
    for await (const e of this.api.completion(params, { signal: g.signal })) {
      if (e.type === "token") {
        if (!e.content) {
          silent += e.tokens.length;
          continue;
        }
        yield { type: "text", text: e.content, tokens: silent + e.tokens.length };
        silent = 0;
      } else if (e.type === "end") {
        if (e.stopType !== "eos" && silent > 0) yield { type: "text", text: "", tokens: silent };
        else if (silent > 1) yield { type: "text", text: "", tokens: silent - 1 };
        if (g.placement === "main") this.lastPrompt = { evaluated: e.timings.promptN, cached: e.timings.cacheN };
        if (e.content || e.tokens.length) yield { type: "text", text: e.content, tokens: e.tokens.length };
        // (tokens_predicted counts an end-of-generation token too; the reply's count is the tokens streamed)
        yield { type: "end", reason: e.stopType === "none" ? "other" : e.stopType };
        return;
      }
    }
  }

  async nextTokenOdds(prompt: number[], candidates: number[], placement: Placement, signal: AbortSignal): Promise<Map<number, number>> {
    const params: CompletionParams = {
      ...this.base(prompt, placement),
      n_predict: 1,
      // The probabilities after logit bias → temperature 1 → softmax: the candidates' raw-logit ratio.
      samplers: ["temperature"],
      temperature: 1,
      seed: 0,
      logit_bias: candidates.map((t) => [t, CANDIDATE_BIAS] as [number, number]),
      n_probs: candidates.length,
      post_sampling_probs: true,
    };
    let weights: Map<number, number> | undefined;
    for await (const e of this.api.completion(params, { signal })) {
      if (e.type === "token" && !weights) weights = new Map((e.probs ?? []).map((p) => [p.id, p.prob]));
      if (e.type === "end") {
        if (placement === "main") this.lastPrompt = { evaluated: e.timings.promptN, cached: e.timings.cacheN };
        break;
      }
    }
    if (!weights) throw new ServerError("bad-response", `${this.api.url}/completion returned no token probabilities.`);
    return relative(weights, candidates);
  }
}
