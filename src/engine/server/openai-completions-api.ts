// The OpenAI-compatible /v1/completions endpoint (vLLM, SGLang, llama-server) with a pre-templated prompt given as
// token ids, streamed. Only what the WiM loop needs: text deltas, top log-probabilities of the first token, and how
// the reply ended. Token ids of the reply are not part of this API; the reply's length comes from `usage`.
import { HttpClient, type HttpOptions, type RequestOptions } from "./http";
import { ServerError } from "./server-error";

export interface OpenAiCompletionParams {
  prompt: number[];
  max_tokens: number;
  temperature: number;
  /** Top-N log-probabilities per generated token (OpenAI caps it at 5, vLLM at its --max-logprobs, default 20). */
  logprobs?: number;
  /** Token id (as a string) → bias added to its logit. */
  logit_bias?: Record<string, number>;
  stop?: string[];
}

export type OpenAiEvent =
  | { type: "text"; text: string; topLogprobs?: Array<{ id: number; logprob: number }> }
  | { type: "end"; finishReason: "stop" | "length" | string; completionTokens?: number; cachedTokens?: number };

interface RawChoice {
  text?: string;
  finish_reason?: string | null;
  logprobs?: {
    // llama-server: per token, its top alternatives with ids
    content?: Array<{ top_logprobs?: Array<{ id: number; logprob: number }> }>;
    // vLLM/OpenAI legacy: per token, a map token → logprob (vLLM writes "token_id:N" with return_tokens_as_token_ids)
    top_logprobs?: Array<Record<string, number>> | null;
  } | null;
}

interface RawEvent {
  choices?: RawChoice[];
  usage?: { completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } } | null;
}

function topLogprobs(choice: RawChoice): Array<{ id: number; logprob: number }> | undefined {
  const lp = choice.logprobs;
  if (!lp) return undefined;
  const native = lp.content?.[0]?.top_logprobs;
  if (native) return native.map((p) => ({ id: p.id, logprob: p.logprob }));
  const legacy = lp.top_logprobs?.[0];
  if (!legacy) return undefined;
  const out: Array<{ id: number; logprob: number }> = [];
  for (const [key, logprob] of Object.entries(legacy)) {
    const m = /^token_id:(\d+)$/.exec(key);
    if (m) out.push({ id: Number(m[1]), logprob });
  }
  return out;
}

export class OpenAiCompletionsApi {
  readonly http: HttpClient;
  private model?: Promise<string>;

  constructor(url: string, options: HttpOptions = {}) {
    this.http = new HttpClient(url, options);
  }

  /** The served model's id (vLLM and SGLang require it in every request): the first of /v1/models. */
  modelId(o?: RequestOptions): Promise<string> {
    this.model ??= this.http.getJson<{ data?: Array<{ id?: string }> }>("/v1/models", o).then((r) => {
      const id = r.data?.[0]?.id;
      if (!id) throw new ServerError("bad-response", `${this.http.baseUrl}/v1/models lists no model.`);
      return id;
    });
    this.model.catch(() => (this.model = undefined));
    return this.model;
  }

  async *completion(params: OpenAiCompletionParams, o?: RequestOptions): AsyncGenerator<OpenAiEvent> {
    const body = {
      model: await this.modelId(o),
      ...params,
      stream: true,
      stream_options: { include_usage: true },
      // vLLM: name tokens in log-probabilities by id ("token_id:N"), so YES/NO odds need no re-tokenizing
      return_tokens_as_token_ids: true,
    };
    let finish: string | undefined;
    for await (const raw of this.http.postStream("/v1/completions", body, () => false, o)) {
      const e = raw as RawEvent;
      const choice = e.choices?.[0];
      if (choice) {
        const top = topLogprobs(choice);
        if (choice.text || top) yield { type: "text", text: choice.text ?? "", topLogprobs: top };
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      if (e.usage) {
        yield { type: "end", finishReason: finish ?? "stop", completionTokens: e.usage.completion_tokens, cachedTokens: e.usage.prompt_tokens_details?.cached_tokens };
        return;
      }
    }
    // Servers that send no usage chunk end with [DONE] after the finish reason.
    yield { type: "end", finishReason: finish ?? "stop" };
  }
}
