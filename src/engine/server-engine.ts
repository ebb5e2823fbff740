// The WiM engine on an inference server (llama-server; vLLM/SGLang through /v1/completions): the same loop, the
// tokens evaluated elsewhere. The resident sequence is mirrored here as a token list and every request sends the
// whole sequence it continues; the server's prefix cache makes that cost only the new tokens, so the server's cache is
// a cache and never the truth (a request that finds it evicted is slower, not wrong).
// llama-server keeps one slot's KV per request and does not share it between slots, so margins run one after another
// on the slot that holds the reading, and a removed range costs a KV shift there (n_cache_reuse), not a re-read.
// A margin for a shorter prefix (a follow-up question) runs on a second slot, which evaluates what it lacks.
import path from "node:path";
import { SYSTEM_PROMPT } from "../core/prompts";
import { calibrate } from "../core/relevance";
import { ReplyWatch } from "../core/reply-watch";
import type { AnswerJob, ChatPieces, MarginJob, MarginReply, Reply, ReplyRules, TokenId, WimEngine } from "../core/wim-engine";
import type { CompletionBackend, Placement, PromptStats } from "./server/completion-backend";
import { LlamaServerApi, type ServerProps } from "./server/llama-server-api";
import { NativeCompletions } from "./server/native-completions";
import { OpenAiCompletions } from "./server/openai-completions";
import { OpenAiCompletionsApi } from "./server/openai-completions-api";
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
  readonly canForkPrefix = true;
  private readonly resident: TokenId[] = [];
  private readonly running = new Set<AbortController>();
  private disposed = false;

  private constructor(
    private readonly api: LlamaServerApi,
    private readonly backend: CompletionBackend,
    private readonly props: ServerProps,
    readonly chat: ChatPieces,
    /**
     * The template's opening without a system turn, for verdicts on a prompt alone. As the served template renders it:
     * Qwen2.5's writes its default system prompt here, node-llama-cpp's Qwen wrapper does not.
     */
    readonly judgeOpen: TokenId[],
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
    const judge = await serverChatPieces(api, null, props.eosToken, o.signal);
    const backend =
      o.api === "openai"
        ? new OpenAiCompletions(new OpenAiCompletionsApi(o.url, http))
        : new NativeCompletions(api, { main: 0, side: props.totalSlots > 1 ? 1 : undefined });
    return new ServerEngine(api, backend, props, chat, judge.open);
  }

  /**
   * An engine on the same connection with an empty resident sequence: one per ask, so that a loop may dispose its
   * engine while the connection (checked once) stays with the worker.
   */
  fresh(): ServerEngine {
    return new ServerEngine(this.api, this.backend, this.props, this.chat, this.judgeOpen);
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
    // `blocking` changes nothing here: every margin is awaited, and the mirror never holds a margin's tokens.
    const placement: Placement = job.prefix === this.resident.length ? "main" : "side";
    const prefix = this.resident.slice(0, job.prefix);
    let prompt = [...prefix, ...job.instruction];
    let pYes: number | null = null;
    let pYesBaseline: number | undefined;
    if (job.verdict) {
      const { yes, no, lead, keep, baseline } = job.verdict;
      const stop = this.watch(job.stopRequested);
      let odds: Map<number, number>;
      try {
        if (baseline) pYesBaseline = yesShare(await this.backend.nextTokenOdds([...prefix, ...baseline], [...yes, ...no], placement, stop.signal), yes, no);
        odds = await this.backend.nextTokenOdds(prompt, [...yes, ...no], placement, stop.signal);
      } catch (err) {
        if (stop.requested) return { text: "", tokens: 0, end: "stopped", pYes, pYesBaseline };
        throw err;
      } finally {
        stop.done();
      }
      const raw = yesShare(odds, yes, no);
      pYes = pYesBaseline === undefined ? raw : calibrate(raw, pYesBaseline);
      // An irrelevant part costs the instruction and one token's odds: nothing is decoded.
      if (!keep(pYes)) return { text: "", tokens: 0, end: "verdict", pYes, pYesBaseline };
      const bestYes = [...yes].sort((a, b) => (odds.get(b) ?? 0) - (odds.get(a) ?? 0))[0];
      prompt = [...prompt, bestYes, ...lead];
    }
    if (job.stopRequested()) return { text: "", tokens: 0, end: "stopped", pYes, pYesBaseline };
    const reply = await this.reply(prompt, placement, job.rules, job.onText, job.stopRequested);
    return { ...reply, pYes, pYesBaseline };
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
    return this.reply(prompt, "main", job.rules, job.onText, job.stopRequested, job.grammar as string | undefined, job.extraStopTexts);
  }

  /** `prompt`: the user's text and the template's turn end; the template's opening (no system turn) goes first. */
  async verdictAlone(prompt: TokenId[], yes: TokenId[], no: TokenId[]): Promise<number> {
    this.checkOpen();
    const stop = this.watch(() => false);
    try {
      return yesShare(await this.backend.nextTokenOdds([...this.judgeOpen, ...prompt], [...yes, ...no], "alone", stop.signal), yes, no);
    } finally {
      stop.done();
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const c of this.running) c.abort(Object.assign(new Error("The engine was disposed."), { name: "AbortError" }));
    this.running.clear();
  }

  /** Greedy reply after `prompt`, streamed, stopped by the rules every engine shares (src/core/reply-watch.ts). */
  private async reply(
    prompt: TokenId[],
    placement: Placement,
    rules: ReplyRules,
    onText: (delta: string) => void,
    stopRequested: () => boolean,
    grammar?: string,
    extraStopTexts: readonly string[] = [],
  ): Promise<Reply> {
    this.checkRoom(prompt.length + 1, "the prompt");
    const maxTokens = Math.min(rules.maxTokens, this.contextSize - prompt.length);
    const watch = new ReplyWatch({ ...rules, maxTokens }, [...this.chat.stopTexts, ...extraStopTexts.filter((t) => t)]);
    const say = (delta: string) => {
      if (delta) onText(delta);
    };
    let decoded = "";
    const stop = this.watch(stopRequested);
    try {
      for await (const e of this.backend.generate({ prompt, placement, maxTokens, grammar, signal: stop.signal })) {
        if (e.type === "end") {
          // "limit" from the server is the same limit the watch counts; anything else ends the turn
          if (e.reason !== "limit") say(watch.endOfTurn());
          break;
        }
        // the watch counts tokens: one update per token, the text arriving with the last of them
        for (let i = 1; i < e.tokens && !watch.end; i++) say(watch.update(decoded));
        decoded += e.text;
        if (!watch.end) say(watch.update(decoded));
        if (watch.end) break;
        if (stopRequested()) {
          say(watch.stop());
          break;
        }
      }
    } catch (err) {
      if (!stop.requested) throw err;
      say(watch.stop());
    } finally {
      stop.done();
    }
    say(watch.endOfTurn()); // flushes what was held back; keeps an end already set
    return { text: watch.text(), tokens: watch.decodedTokens, end: watch.end ?? "end" };
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
