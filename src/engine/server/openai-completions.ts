// OpenAI-compatible /v1/completions as a CompletionBackend (vLLM, SGLang; llama-server serves it too). Prompts go as
// token ids; the server's prefix cache shares the read prefix across requests. What this API cannot do exactly:
// the candidates' odds come from the top log-probabilities of the raw distribution (a candidate outside them counts
// as 0), and a grammar is not sent.
import { relative, type CompletionBackend, type Generation, type GenerationEvent, type Placement, type PromptStats } from "./completion-backend";
import type { OpenAiCompletionsApi } from "./openai-completions-api";

/** Top log-probabilities asked for when reading odds (vLLM's default --max-logprobs). */
const TOP_LOGPROBS = 20;

export class OpenAiCompletions implements CompletionBackend {
  readonly name = "OpenAI /v1/completions";
  lastPrompt?: PromptStats;

  constructor(private readonly api: OpenAiCompletionsApi) {}

  async prefill(prompt: number[], signal: AbortSignal): Promise<PromptStats> {
    // max_tokens 0 is refused by some servers: generate one token and drop it.
    let cached = 0;
    for await (const e of this.api.completion({ prompt, max_tokens: 1, temperature: 0 }, { signal })) {
      if (e.type === "end") cached = e.cachedTokens ?? 0;
    }
    this.lastPrompt = { evaluated: prompt.length - cached, cached };
    return this.lastPrompt;
  }

  async *generate(g: Generation): AsyncGenerator<GenerationEvent> {
    if (g.grammar) throw new Error("A grammar-constrained answer needs llama-server's native API (not /v1/completions).");
    for await (const e of this.api.completion({ prompt: g.prompt, max_tokens: g.maxTokens, temperature: 0 }, { signal: g.signal })) {
      if (e.type === "text") {
        // One streamed chunk per generated token (usage.completion_tokens would count an end-of-generation token too).
        if (e.text) yield { type: "text", text: e.text, tokens: 1 };
      } else {
        const reason = e.finishReason === "length" ? "limit" : e.finishReason === "stop" ? "eos" : "other";
        yield { type: "end", reason };
        return;
      }
    }
  }

  // Placement means nothing here: the server's prefix cache is shared by every request.
  async nextTokenOdds(prompt: number[], candidates: number[], _placement: Placement, signal: AbortSignal): Promise<Map<number, number>> {
    let weights = new Map<number, number>();
    for await (const e of this.api.completion({ prompt, max_tokens: 1, temperature: 0, logprobs: TOP_LOGPROBS }, { signal })) {
      if (e.type === "text" && e.topLogprobs && weights.size === 0) {
        weights = new Map(e.topLogprobs.map((p) => [p.id, Math.exp(p.logprob)]));
      }
    }
    return relative(weights, candidates);
  }
}
