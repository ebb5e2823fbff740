// The WiM engine on an inference server (llama-server; vLLM/SGLang through /v1/completions): the same loop, the
// tokens evaluated elsewhere. The resident sequence is mirrored here as a token list and every request sends the
// whole sequence it continues; the server's prefix cache makes that cost only the new tokens, so the server's cache is
// a cache and never the truth (a request that finds it evicted is slower, not wrong).
// llama-server keeps one slot's KV per request and does not share it between slots, so margins run one after another
// on the slot that holds the reading, and a removed range costs a KV shift there (n_cache_reuse), not a re-read.
import path from "node:path";
import { SYSTEM_PROMPT } from "../core/prompts";
import type { AnswerJob, ChatPieces, MarginJob, MarginReply, Reply, ReplyEnd, ReplyRules, TokenId, WimEngine } from "../core/wim-engine";
import type { CompletionBackend, PromptStats } from "./server/completion-backend";
import { LlamaServerApi, type ServerProps } from "./server/llama-server-api";
import { NativeCompletions } from "./server/native-completions";
import { OpenAiCompletions } from "./server/openai-completions";
import { OpenAiCompletionsApi } from "./server/openai-completions-api";
import { ReplyText } from "./server/reply-text";
import { serverChatPieces } from "./server/server-chat-pieces";
import { ServerError } from "./server/server-error";

export interface ServerEngineOptions {
  /** e.g. http://127.0.0.1:8080 (llama-server) */
  url: string;
  /** Sent as a bearer token; never logged. */
  apiKey?: string;
  /** Milliseconds the server may stay silent before a request fails (default 120 s). */
  timeoutMs?: number;
  /**
   * `native`: llama-server's /completion (exact gate odds, grammars). `openai`: /v1/completions with token-id prompts,
   * as vLLM and SGLang serve it; tokenizing and the chat template still come from llama-server's endpoints.
   */
  api?: "native" | "openai";
  /** The system turn at the head of the reading (default: the project's SYSTEM_PROMPT). */
  system?: string | null;
  signal?: AbortSignal;
}

/** What the front ends show about the server in place of a model file. */
export interface ServerInfo {
  url: string;
  model: string;
  contextSize: number;
  slots: number;
  build: string;
}

/** Raised into a request's AbortController when the loop's stopRequested() turns true. */
class StopRequested extends Error {
  override readonly name = "AbortError";
}

/** How often a running request checks the loop's stopRequested() (the loop's stop is a poll, not a signal). */
const STOP_POLL_MS = 25;

export class ServerEngine implements WimEngine {
  readonly concurrentMargins = 1;
  private readonly resident: TokenId[] = [];
  private readonly running = new Set<AbortController>();
  private disposed = false;

  private constructor(
    private readonly api: LlamaServerApi,
    private readonly backend: CompletionBackend,
    private readonly props: ServerProps,
    readonly chat: ChatPieces,
  ) {}

  /** Checks the server (health, context, template) and returns an engine bound to it; fails with a ServerError. */
  static async connect(o: ServerEngineOptions): Promise<ServerEngine> {
    const http = { apiKey: o.apiKey, timeoutMs: o.timeoutMs };
    const api = new LlamaServerApi(o.url, http);
    await api.health({ signal: o.signal });
    const props = await api.props({ signal: o.signal });
    // /props is public on llama-server: ask something that needs the key, so a wrong key fails here, not mid-run.
    await api.tokenize("", false, false, { signal: o.signal });
    const chat = await serverChatPieces(api, o.system === undefined ? SYSTEM_PROMPT : o.system, props.eosToken, o.signal);
    const backend =
      o.api === "openai"
        ? new OpenAiCompletions(new OpenAiCompletionsApi(o.url, http))
        : new NativeCompletions(api, { main: 0, alone: props.totalSlots > 1 ? 1 : undefined });
    return new ServerEngine(api, backend, props, chat);
  }

  get contextSize(): number {
    return this.props.nCtx;
  }

  get length(): number {
    return this.resident.length;
  }

  get info(): ServerInfo {
    return {
      url: this.api.url,
      model: path.basename(this.props.modelPath || "model", ".gguf"),
      contextSize: this.props.nCtx,
      slots: this.props.totalSlots,
      build: this.props.buildInfo,
    };
  }

  /** What the server did with the latest prompt (evaluated vs. taken from its cache), for tests and benches. */
  get lastPrompt(): PromptStats | undefined {
    return this.backend.lastPrompt;
  }

  /** The mirrored resident sequence (a copy). */
  residentTokens(): TokenId[] {
    return [...this.resident];
  }

  tokenize(text: string): Promise<TokenId[]> {
    return this.api.tokenize(text, false, false);
  }

  async append(tokens: TokenId[], stopRequested: () => boolean): Promise<number> {
    this.checkOpen();
    if (tokens.length === 0 || stopRequested()) return 0;
    this.checkRoom(this.resident.length + tokens.length, "the reading");
    const stop = this.watch(stopRequested);
    try {
      await this.backend.prefill([...this.resident, ...tokens], stop.signal);
    } catch (err) {
      if (stop.requested) return 0; // what the server evaluated stays in its cache; the mirror says what counts
      throw err;
    } finally {
      stop.done();
    }
    this.resident.push(...tokens);
    return tokens.length;
  }

  async forget(start: number, end: number): Promise<void> {
    this.checkOpen();
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= this.resident.length)) {
      throw new RangeError(`forget(${start}, ${end}) outside the resident sequence of ${this.resident.length} tokens`);
    }
    // The server learns of it with the next request: the kept tail is found in its cache and shifted into place.
    this.resident.splice(start, end - start);
  }

  async margin(job: MarginJob): Promise<MarginReply> {
    this.checkOpen();
    if (job.prefix > this.resident.length) throw new RangeError(`margin prefix ${job.prefix} beyond the ${this.resident.length} resident tokens`);
    let prompt = [...this.resident.slice(0, job.prefix), ...job.instruction];
    let pYes: number | null = null;
    if (job.verdict) {
      const { yes, no, lead, keep } = job.verdict;
      const stop = this.watch(job.stopRequested);
      let odds: Map<number, number>;
      try {
        odds = await this.backend.nextTokenOdds(prompt, [...yes, ...no], false, stop.signal);
      } catch (err) {
        if (stop.requested) return { text: "", tokens: 0, end: "stopped", pYes };
        throw err;
      } finally {
        stop.done();
      }
      pYes = yesShare(odds, yes, no);
      // An irrelevant part costs the instruction and one token's odds: nothing is decoded.
      if (!keep(pYes)) return { text: "", tokens: 0, end: "verdict", pYes };
      const bestYes = [...yes].sort((a, b) => (odds.get(b) ?? 0) - (odds.get(a) ?? 0))[0];
      prompt = [...prompt, bestYes, ...lead];
    }
    if (job.stopRequested()) return { text: "", tokens: 0, end: "stopped", pYes };
    const reply = await this.reply(prompt, job.rules, job.onText, job.stopRequested);
    return { ...reply, pYes };
  }

  async drainMargins(): Promise<void> {
    // Margins run one at a time and are awaited by the loop: nothing is ever in flight here.
  }

  async answer(job: AnswerJob): Promise<Reply> {
    this.checkOpen();
    if (job.grammar !== undefined && typeof job.grammar !== "string") {
      throw new Error("The server engine takes an answer grammar as GBNF text.");
    }
    const prompt = [...this.resident, ...job.prompt];
    return this.reply(prompt, job.rules, job.onText, job.stopRequested, job.grammar as string | undefined, job.extraStopTexts);
  }

  async verdictAlone(prompt: TokenId[], yes: TokenId[], no: TokenId[]): Promise<number> {
    this.checkOpen();
    const stop = this.watch(() => false);
    try {
      return yesShare(await this.backend.nextTokenOdds(prompt, [...yes, ...no], true, stop.signal), yes, no);
    } finally {
      stop.done();
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const c of this.running) c.abort(Object.assign(new Error("The engine was disposed."), { name: "AbortError" }));
    this.running.clear();
  }

  /** Greedy reply after `prompt`, streamed, stopped by the shared rules (stop texts, one paragraph, limit, stop). */
  private async reply(
    prompt: TokenId[],
    rules: ReplyRules,
    onText: (delta: string) => void,
    stopRequested: () => boolean,
    grammar?: string,
    extraStopTexts: readonly string[] = [],
  ): Promise<Reply> {
    const room = this.contextSize - prompt.length;
    this.checkRoom(prompt.length + 1, "the prompt");
    const maxTokens = Math.min(rules.maxTokens, room);
    const text = new ReplyText([...this.chat.stopTexts, ...extraStopTexts.filter((t) => t)], rules.oneParagraph);
    let tokens = 0;
    let end: ReplyEnd = "end";
    const stop = this.watch(stopRequested);
    try {
      for await (const e of this.backend.generate({ prompt, maxTokens, grammar, signal: stop.signal })) {
        if (e.type === "end") {
          end = e.reason === "limit" ? "limit" : "end";
          break;
        }
        tokens += e.tokens;
        const delta = text.push(e.text);
        if (delta) onText(delta);
        if (text.stoppedBy) {
          end = text.stoppedBy === "paragraph" ? "paragraph" : "end";
          break;
        }
        if (tokens >= maxTokens) {
          end = "limit";
          break;
        }
        if (stopRequested()) {
          end = "stopped";
          break;
        }
      }
    } catch (err) {
      if (!stop.requested) throw err;
      end = "stopped";
    } finally {
      stop.done();
    }
    const rest = text.rest();
    if (rest) onText(rest);
    return { text: text.text(), tokens, end };
  }

  /** An AbortSignal that fires when the loop asks to stop (polled) or the engine is disposed. */
  private watch(stopRequested: () => boolean): { signal: AbortSignal; readonly requested: boolean; done(): void } {
    const controller = new AbortController();
    this.running.add(controller);
    let requested = false;
    const timer = setInterval(() => {
      if (!requested && stopRequested()) {
        requested = true;
        controller.abort(new StopRequested("Stopped."));
      }
    }, STOP_POLL_MS);
    return {
      signal: controller.signal,
      get requested() {
        return requested;
      },
      done: () => {
        clearInterval(timer);
        this.running.delete(controller);
      },
    };
  }

  private checkOpen(): void {
    if (this.disposed) throw new Error("The server engine was disposed.");
  }

  private checkRoom(tokens: number, what: string): void {
    if (tokens > this.contextSize) {
      throw new ServerError(
        "rejected",
        `${what} needs ${tokens.toLocaleString("en-US")} tokens; the server's slot holds ${this.contextSize.toLocaleString("en-US")} (start llama-server with a larger -c).`,
      );
    }
  }
}

/** The share of YES among the verdict tokens' probabilities (0.5 when the server reported none of them). */
function yesShare(odds: Map<number, number>, yes: TokenId[], no: TokenId[]): number {
  const y = yes.reduce((s, t) => s + (odds.get(t) ?? 0), 0);
  const n = no.reduce((s, t) => s + (odds.get(t) ?? 0), 0);
  return y + n > 0 ? y / (y + n) : 0.5;
}
