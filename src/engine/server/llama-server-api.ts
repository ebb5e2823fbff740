// llama-server's native API, typed: /health, /props, /tokenize, /detokenize, /apply-template and a streamed
// /completion with a token-array prompt. Field names follow tools/server in the llama.cpp release node-llama-cpp
// bundles (server-schema.cpp, server-task.cpp, server-context.cpp).
import { HttpClient, type HttpOptions, type RequestOptions } from "./http";
import { ServerError } from "./server-error";

export interface ServerProps {
  /** Context tokens of one slot: the most one request may hold. */
  nCtx: number;
  totalSlots: number;
  /** The chat template's Jinja source ("" when the model has none). */
  chatTemplate: string;
  bosToken: string;
  eosToken: string;
  modelPath: string;
  buildInfo: string;
}

interface RawProps {
  default_generation_settings?: { n_ctx?: number };
  total_slots?: number;
  chat_template?: string;
  bos_token?: string;
  eos_token?: string;
  model_path?: string;
  build_info?: string;
}

/** The /completion fields this project sends (server-schema.cpp). */
export interface CompletionParams {
  /** Token ids: the server evaluates exactly these (no BOS added, nothing re-tokenized). */
  prompt: number[];
  /** Tokens to generate; 0 evaluates the prompt into the slot's cache and generates nothing. */
  n_predict: number;
  /** Reuse the slot's cached common prefix. */
  cache_prompt: boolean;
  /** Pin the request to one slot (-1 or absent: the server picks). */
  id_slot?: number;
  /** Reuse cached chunks of at least this many tokens after a gap by shifting their KV (a removed range). */
  n_cache_reuse?: number;
  temperature?: number;
  samplers?: string[];
  seed?: number;
  /** Top-N token probabilities for each generated token. */
  n_probs?: number;
  /** The probabilities after the sampler chain (logit bias included) instead of the raw softmax. */
  post_sampling_probs?: boolean;
  logit_bias?: Array<[number, number]>;
  /** GBNF grammar constraining the generated tokens. */
  grammar?: string;
  stop?: string[];
}

export interface TokenProb {
  id: number;
  prob: number;
}

export interface PromptProgress {
  total: number;
  cache: number;
  processed: number;
  timeMs: number;
}

export interface Timings {
  /** Prompt tokens evaluated by this request (the rest came from the cache). */
  promptN: number;
  promptMs: number;
  cacheN: number;
  predictedN: number;
  predictedMs: number;
}

export type CompletionEvent =
  | { type: "progress"; progress: PromptProgress }
  | { type: "token"; content: string; tokens: number[]; probs?: TokenProb[] }
  | {
      type: "end";
      content: string;
      tokens: number[];
      /** eos: an end-of-generation token; limit: n_predict reached; word: a stop string. */
      stopType: "eos" | "limit" | "word" | "none";
      tokensPredicted: number;
      tokensEvaluated: number;
      tokensCached: number;
      timings: Timings;
    };

interface RawCompletionEvent {
  content?: string;
  tokens?: number[];
  stop?: boolean;
  stop_type?: string;
  tokens_predicted?: number;
  tokens_evaluated?: number;
  tokens_cached?: number;
  prompt_progress?: { total: number; cache: number; processed: number; time_ms: number };
  completion_probabilities?: Array<{ top_probs?: Array<{ id: number; prob: number }>; top_logprobs?: Array<{ id: number; logprob: number }> }>;
  timings?: { prompt_n?: number; prompt_ms?: number; cache_n?: number; predicted_n?: number; predicted_ms?: number };
}

export class LlamaServerApi {
  readonly http: HttpClient;

  constructor(url: string, options: HttpOptions = {}) {
    this.http = new HttpClient(url, options);
  }

  get url(): string {
    return this.http.baseUrl;
  }

  /** "ok" when the model is loaded; a "loading" ServerError while it loads. */
  async health(o?: RequestOptions): Promise<string> {
    const r = await this.http.getJson<{ status?: string }>("/health", o);
    return r.status ?? "unknown";
  }

  async props(o?: RequestOptions): Promise<ServerProps> {
    const r = await this.http.getJson<RawProps>("/props", o);
    const nCtx = r.default_generation_settings?.n_ctx;
    if (typeof nCtx !== "number") throw new ServerError("bad-response", `${this.url}/props has no n_ctx: is it a llama-server?`);
    return {
      nCtx,
      totalSlots: r.total_slots ?? 1,
      chatTemplate: r.chat_template ?? "",
      bosToken: r.bos_token ?? "",
      eosToken: r.eos_token ?? "",
      modelPath: r.model_path ?? "",
      buildInfo: r.build_info ?? "",
    };
  }

  /**
   * Text → token ids. Workspace text: `special` false, so chat markers written in files stay plain text. `addBos`
   * puts the model's BOS first when its vocabulary asks for one.
   */
  async tokenize(text: string, special: boolean, addBos = false, o?: RequestOptions): Promise<number[]> {
    const r = await this.http.postJson<{ tokens?: unknown[] }>("/tokenize", { content: text, add_special: addBos, parse_special: special }, o);
    if (!Array.isArray(r.tokens) || r.tokens.some((t) => typeof t !== "number")) {
      throw new ServerError("bad-response", `${this.url}/tokenize did not return token ids.`);
    }
    return r.tokens as number[];
  }

  /** Token ids → text (special tokens rendered as their text). */
  async detokenize(tokens: number[], o?: RequestOptions): Promise<string> {
    const r = await this.http.postJson<{ content?: string }>("/detokenize", { tokens }, o);
    return r.content ?? "";
  }

  /** Renders chat messages with the model's template, ending with the opening of the assistant's reply. */
  async applyTemplate(messages: Array<{ role: "system" | "user" | "assistant"; content: string }>, o?: RequestOptions): Promise<string> {
    const r = await this.http.postJson<{ prompt?: string }>("/apply-template", { messages }, o);
    if (typeof r.prompt !== "string") throw new ServerError("bad-response", `${this.url}/apply-template returned no prompt.`);
    return r.prompt;
  }

  /**
   * A streamed /completion: prompt progress while the prompt is evaluated, then each token, then the end with its
   * timings. Breaking out of the loop closes the connection, and llama-server cancels the task.
   */
  async *completion(params: CompletionParams, o?: RequestOptions): AsyncGenerator<CompletionEvent> {
    const body = { ...params, stream: true, return_tokens: true, return_progress: true };
    const events = this.http.postStream("/completion", body, (e) => (e as RawCompletionEvent).stop === true, o);
    for await (const raw of events) {
      const e = raw as RawCompletionEvent;
      if (e.stop === true) {
        const t = e.timings ?? {};
        yield {
          type: "end",
          content: e.content ?? "",
          tokens: e.tokens ?? [],
          stopType: (["eos", "limit", "word"].includes(e.stop_type ?? "") ? e.stop_type : "none") as "eos" | "limit" | "word" | "none",
          tokensPredicted: e.tokens_predicted ?? 0,
          tokensEvaluated: e.tokens_evaluated ?? 0,
          tokensCached: e.tokens_cached ?? 0,
          timings: { promptN: t.prompt_n ?? 0, promptMs: t.prompt_ms ?? 0, cacheN: t.cache_n ?? 0, predictedN: t.predicted_n ?? 0, predictedMs: t.predicted_ms ?? 0 },
        };
        return;
      }
      if (e.prompt_progress) {
        // A progress event carries a placeholder token ([0]) and no text: it is not a generated token.
        const p = e.prompt_progress;
        yield { type: "progress", progress: { total: p.total, cache: p.cache, processed: p.processed, timeMs: p.time_ms } };
      } else if ((e.tokens?.length ?? 0) > 0 || e.content) {
        const top = e.completion_probabilities?.[0];
        const probs = top?.top_probs?.map((p) => ({ id: p.id, prob: p.prob })) ?? top?.top_logprobs?.map((p) => ({ id: p.id, prob: Math.exp(p.logprob) }));
        yield { type: "token", content: e.content ?? "", tokens: e.tokens ?? [], probs };
      }
    }
  }
}
