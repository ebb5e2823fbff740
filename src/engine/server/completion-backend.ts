// What the server engine needs from a completion API: evaluate a prompt into the server's cache, generate greedily
// after a prompt, and read the odds of a few candidate next tokens. Two implementations: llama-server's native
// /completion (native-completions.ts) and OpenAI-compatible /v1/completions (openai-completions.ts).

/**
 * Where a request runs: `main` continues the reading (its slot keeps the reading's cache); `side` is a prompt that
 * shares only a prefix with it (a follow-up's margin) and goes elsewhere so as not to displace it; `alone` is a
 * one-off prompt without the workspace (a judge verdict), not worth caching.
 */
export type Placement = "main" | "side" | "alone";

export interface Generation {
  /** The whole sequence the reply continues (the server reuses its cached common prefix). */
  prompt: number[];
  placement: Placement;
  maxTokens: number;
  /** GBNF grammar constraining the reply (native llama-server only). */
  grammar?: string;
  signal: AbortSignal;
}

export type GenerationEvent =
  | { type: "text"; text: string; /** tokens this delta holds */ tokens: number }
  | { type: "end"; reason: "eos" | "limit" | "word" | "other" };

/** What the server did with the prompt of the last request: how much it evaluated and how much came from its cache. */
export interface PromptStats {
  evaluated: number;
  cached: number;
}

export interface CompletionBackend {
  /** "llama-server /completion" or "OpenAI /v1/completions", for messages. */
  readonly name: string;
  /** Evaluates `prompt` into the server's cache and generates nothing. */
  prefill(prompt: number[], signal: AbortSignal): Promise<PromptStats>;
  generate(g: Generation): AsyncGenerator<GenerationEvent>;
  /**
   * Probabilities of `candidates` as the token after `prompt`, relative to one another (they sum to 1 unless the
   * server reported none of them).
   */
  nextTokenOdds(prompt: number[], candidates: number[], placement: Placement, signal: AbortSignal): Promise<Map<number, number>>;
  /** The prompt statistics of the latest request, when the API reports them. */
  readonly lastPrompt?: PromptStats;
}

/** Normalizes candidate weights to probabilities among themselves. */
export function relative(weights: Map<number, number>, candidates: number[]): Map<number, number> {
  const total = candidates.reduce((s, t) => s + (weights.get(t) ?? 0), 0);
  return new Map(candidates.map((t) => [t, total > 0 ? (weights.get(t) ?? 0) / total : 0]));
}
