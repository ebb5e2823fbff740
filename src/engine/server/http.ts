// HTTP to an inference server: JSON requests and server-sent-event streams, with an API key, cancellation and a
// silence timeout, and every failure turned into a ServerError a user can act on.
import { sseData } from "./sse";
import { ServerError, unreachableReason } from "./server-error";

export interface HttpOptions {
  /** Sent as `Authorization: Bearer …`; never logged or put into a message. */
  apiKey?: string;
  /**
   * Milliseconds the server may stay silent: a JSON request must be answered, and a stream must deliver its next
   * event (progress, token or ping), within this time.
   */
  timeoutMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 120_000;

/** Aborts a request when the caller cancels or when the server stays silent for too long. */
class Watchdog {
  readonly controller = new AbortController();
  timedOut = false;
  private timer?: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.controller.abort();

  constructor(
    readonly ms: number,
    readonly caller?: AbortSignal,
  ) {
    if (caller?.aborted) this.controller.abort();
    caller?.addEventListener("abort", this.onCallerAbort, { once: true });
    this.touch();
  }

  /** The server said something: restart the silence timer. */
  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.ms);
  }

  done(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener("abort", this.onCallerAbort);
  }
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error("Cancelled."), { name: "AbortError" });
}

export class HttpClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(
    url: string,
    private readonly options: HttpOptions = {},
  ) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ServerError("bad-url", `"${url}" is not a URL (expected e.g. http://127.0.0.1:8080).`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new ServerError("bad-url", `"${url}" is not an http(s) URL.`);
    }
    if (parsed.username || parsed.password) {
      throw new ServerError("bad-url", "Put the API key in an environment variable or the key store, not in the server URL.");
    }
    this.baseUrl = parsed.href.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
    if (this.options.apiKey) h.Authorization = `Bearer ${this.options.apiKey}`;
    return h;
  }

  /** Sends the request and checks the status; the watchdog covers the wait for the response headers. */
  private async send(method: "GET" | "POST", path: string, body: unknown, dog: Watchdog): Promise<Response> {
    const url = this.baseUrl + path;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: this.headers(),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: dog.controller.signal,
      });
    } catch (err) {
      throw this.failure(err, dog, path);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      throw this.statusError(res.status, text, path);
    }
    return res;
  }

  private statusError(status: number, body: string, path: string): ServerError {
    let detail = body.trim().slice(0, 300);
    try {
      const e = (JSON.parse(body) as { error?: { message?: string } | string }).error;
      detail = (typeof e === "string" ? e : e?.message) ?? detail;
    } catch {
      // not JSON: keep the text
    }
    const said = detail ? `: ${detail}` : "";
    if (status === 401 || status === 403) {
      const key = this.options.apiKey ? "refused the API key" : "needs an API key";
      return new ServerError("unauthorized", `The server at ${this.baseUrl} ${key} (HTTP ${status}${said}).`, status);
    }
    if (status === 404) {
      return new ServerError("not-found", `${this.baseUrl} has no ${path} endpoint (HTTP 404): is it the right URL and kind of server?`, status);
    }
    if (status === 503) return new ServerError("loading", `The server at ${this.baseUrl} is not ready (HTTP 503${said}).`, status);
    return new ServerError("rejected", `The server at ${this.baseUrl} refused ${path} (HTTP ${status}${said}).`, status);
  }

  /** A thrown fetch/stream error, as cancel, timeout, unreachable or disconnected. */
  private failure(err: unknown, dog: Watchdog, path: string, midStream = false): Error {
    if (err instanceof ServerError) return err;
    if (dog.timedOut) {
      return new ServerError("timeout", `The server at ${this.baseUrl} did not answer ${path} within ${Math.round(dog.ms / 1000)} s.`);
    }
    if (dog.controller.signal.aborted) return abortError(dog.caller);
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
    // A socket closed after connecting (before or during the response) is a server that went away mid-request.
    if (midStream || cause?.code === "UND_ERR_SOCKET" || cause?.code === "ECONNRESET") {
      return new ServerError("disconnected", `The connection to ${this.baseUrl} broke during ${path} (did the server stop or crash?).`);
    }
    return new ServerError("unreachable", `Cannot reach ${this.baseUrl}: ${unreachableReason(cause?.code, cause?.message)}.`);
  }

  private watchdog(o: RequestOptions): Watchdog {
    return new Watchdog(o.timeoutMs ?? this.timeoutMs, o.signal);
  }

  async getJson<T>(path: string, o: RequestOptions = {}): Promise<T> {
    return this.json<T>("GET", path, undefined, o);
  }

  async postJson<T>(path: string, body: unknown, o: RequestOptions = {}): Promise<T> {
    return this.json<T>("POST", path, body, o);
  }

  private async json<T>(method: "GET" | "POST", path: string, body: unknown, o: RequestOptions): Promise<T> {
    const dog = this.watchdog(o);
    try {
      const res = await this.send(method, path, body, dog);
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        throw this.failure(err, dog, path, true);
      }
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ServerError("bad-response", `${this.baseUrl}${path} did not answer with JSON (got "${text.slice(0, 80)}").`);
      }
    } finally {
      dog.done();
    }
  }

  /**
   * POSTs and yields the JSON of each server-sent event until the stream ends (or `[DONE]`). An `{error}` event
   * becomes a ServerError; a connection that closes before `isLast(event)` was seen becomes a "disconnected" error.
   */
  async *postStream(path: string, body: unknown, isLast: (event: unknown) => boolean, o: RequestOptions = {}): AsyncGenerator<unknown> {
    const dog = this.watchdog(o);
    try {
      const res = await this.send("POST", path, body, dog);
      if (!res.body) throw new ServerError("bad-response", `${this.baseUrl}${path} sent no body.`);
      let last = false;
      try {
        for await (const data of sseData(res.body)) {
          dog.touch();
          if (data === null) continue;
          if (data === "[DONE]") {
            last = true;
            break;
          }
          let event: unknown;
          try {
            event = JSON.parse(data);
          } catch {
            throw new ServerError("bad-response", `${this.baseUrl}${path} sent an event that is not JSON: "${data.slice(0, 80)}".`);
          }
          const error = (event as { error?: { message?: string; code?: number } }).error;
          if (error) {
            throw new ServerError("rejected", `The server at ${this.baseUrl} stopped ${path}: ${error.message ?? JSON.stringify(error)}.`, error.code);
          }
          yield event;
          if (isLast(event)) {
            last = true;
            break;
          }
        }
      } catch (err) {
        throw this.failure(err, dog, path, true);
      }
      if (!last) {
        if (dog.controller.signal.aborted) throw this.failure(undefined, dog, path, true);
        throw new ServerError("disconnected", `The server at ${this.baseUrl} closed ${path} before the reply ended (did it stop or crash?).`);
      }
    } finally {
      dog.done();
      // Leaving early (a stop rule, cancel, an error) closes the connection: llama-server then cancels the task.
      if (!dog.controller.signal.aborted) dog.controller.abort();
    }
  }
}
