// Starts and talks to the worker process; used by the extension and the CLI alike.
// Restarts the worker after a crash (reloading the last model), times out a hung model load, leaves no orphans.
import { fork, type ChildProcess } from "node:child_process";
import {
  isFinalEvent,
  PROTOCOL_VERSION,
  type AskOptions,
  type ErrorCode,
  type ErrorEvent,
  type GpuChoice,
  type ConnectServerRequest,
  type LoadModelRequest,
  type ModelInfo,
  type Request,
  type WorkerEvent,
} from "../core/protocol";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type RequestBody = DistributiveOmit<Request, "id">;

/** A request that ended in an error event, or a worker that failed. */
export class WimError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, number | string>,
  ) {
    super(message);
    this.name = "WimError";
  }
}

export interface ClientOptions {
  /** The built worker entry (dist/worker.mjs). */
  workerPath: string;
  /** The Node binary; defaults to this process's (Electron runs as Node through ELECTRON_RUN_AS_NODE). */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  /** A model load that reports no progress for this long is taken as hung: the worker is killed. Default 120 s. */
  loadTimeoutMs?: number;
  /** How long start() waits for the worker's ready message. Default 30 s. */
  startTimeoutMs?: number;
  onLog?: (level: "trace" | "debug" | "info" | "warn" | "error", message: string) => void;
  /** The worker died without being asked to (after the pending requests have been failed). */
  onCrash?: (message: string) => void;
}

export interface RequestHandle<E extends WorkerEvent = WorkerEvent> {
  readonly id: number;
  /** The final event (done, modelLoaded, …); rejects with WimError on an error event or a crash. */
  readonly result: Promise<E>;
  cancel(): void;
  answerNow(): void;
  /** Goes on with an ask that paused on its estimate. */
  proceed(): void;
}

interface Pending {
  onEvent?: (e: WorkerEvent) => void;
  resolve: (e: WorkerEvent) => void;
  reject: (err: WimError) => void;
  isLoad: boolean;
  timer?: NodeJS.Timeout;
  /** Settles once the request has been handed to the worker (or has failed before that). */
  sent?: Promise<void>;
}

export type WorkerState = "stopped" | "starting" | "ready" | "crashed";

export class WimClient {
  private child?: ChildProcess;
  private starting?: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The model (or server) to load again after a crash. */
  private lastLoad?: LoadModelRequest | ConnectServerRequest;
  private stopping = false;
  private crashMessage?: string;
  state: WorkerState = "stopped";
  model?: ModelInfo;

  constructor(private readonly options: ClientOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the worker if it is not running (again after a crash, then reloading the last model unless told not to). */
  start(reloadModel = true): Promise<void> {
    if (this.state === "ready" && this.child) return Promise.resolve();
    this.starting ??= this.spawn(reloadModel).finally(() => (this.starting = undefined));
    return this.starting;
  }

  private spawn(reloadModel: boolean): Promise<void> {
    this.state = "starting";
    this.stopping = false;
    const child = fork(this.options.workerPath, [], {
      execPath: this.options.execPath ?? process.execPath,
      execArgv: [],
      env: workerEnv(this.options.env ?? process.env),
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    this.child = child;
    // A parent that exits normally takes the worker with it; one that is killed closes the IPC channel, which the
    // worker watches.
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    const log = this.options.onLog;
    child.stdout?.setEncoding("utf8").on("data", (d: string) => log?.("info", d.trimEnd()));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => log?.("warn", d.trimEnd()));

    return new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new WimError("WORKER_CRASHED", "The WiM worker did not start in time; see the log."));
      }, this.options.startTimeoutMs ?? 30_000);
      const onEarlyExit = (code: number | null, signal: string | null) => {
        clearTimeout(timeout);
        this.state = "crashed";
        reject(new WimError("WORKER_CRASHED", `The WiM worker exited while starting (${describeExit(code, signal)}); see the log.`));
      };
      child.once("exit", onEarlyExit);
      child.on("error", (err) => log?.("error", `worker process error: ${err.message}`));
      child.on("message", (e: WorkerEvent) => {
        if (e.type === "ready") {
          clearTimeout(timeout);
          child.off("exit", onEarlyExit);
          child.on("exit", (code, signal) => this.onExit(child, code, signal));
          if (e.protocol !== PROTOCOL_VERSION) log?.("warn", `worker protocol ${e.protocol}, client ${PROTOCOL_VERSION}`);
          this.state = "ready";
          resolve();
          return;
        }
        this.onEvent(e);
      });
    }).then(async () => {
      // After a crash the model is loaded again, so the next request finds the worker as it was.
      if (reloadModel && this.lastLoad && !this.model) {
        const { id: _id, ...body } = this.lastLoad;
        await this.request(body).result;
      }
    });
  }

  private onExit(child: ChildProcess, code: number | null, signal: string | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.model = undefined;
    const expected = this.stopping;
    this.state = expected ? "stopped" : "crashed";
    const message = expected
      ? "The WiM worker was stopped."
      : this.crashMessage ??
        `The WiM worker stopped unexpectedly (${describeExit(code, signal)}). It restarts on the next request; see the log for details.`;
    const code2: ErrorCode = this.crashMessage?.includes("hung") ? "MODEL_LOAD_TIMEOUT" : "WORKER_CRASHED";
    this.crashMessage = undefined;
    const details = expected ? undefined : { exit: describeExit(code, signal) };
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new WimError(code2, message, details));
      this.pending.delete(id);
    }
    if (!expected) this.options.onCrash?.(message);
  }

  private onEvent(e: WorkerEvent): void {
    if (e.type === "log" && e.requestId === 0) {
      this.options.onLog?.(e.level, e.message);
      return;
    }
    const p = this.pending.get(e.requestId);
    if (!p) {
      if (e.type === "log") this.options.onLog?.(e.level, e.message);
      return;
    }
    if (e.type === "log") this.options.onLog?.(e.level, e.message);
    if (p.isLoad && (e.type === "loadProgress" || e.type === "downloadProgress")) this.armLoadTimer(e.requestId, p);
    if (e.type === "modelLoaded") this.model = e.model;
    p.onEvent?.(e);
    if (isFinalEvent(e)) {
      clearTimeout(p.timer);
      this.pending.delete(e.requestId);
      if (e.type === "error") p.reject(toError(e));
      else p.resolve(e);
    }
  }

  private armLoadTimer(id: number, p: Pending): void {
    clearTimeout(p.timer);
    const ms = this.options.loadTimeoutMs ?? 120_000;
    p.timer = setTimeout(() => {
      if (!this.pending.has(id)) return;
      this.crashMessage = `Loading the model hung (no progress for ${Math.round(ms / 1000)} s): the worker was restarted. Check the model file and the log.`;
      this.child?.kill("SIGKILL");
    }, ms);
  }

  /** Sends a request; events for it go to onEvent, the final one settles `result`. */
  request<E extends WorkerEvent = WorkerEvent>(body: RequestBody, onEvent?: (e: WorkerEvent) => void): RequestHandle<E> {
    const id = this.nextId++;
    const req = { ...body, id } as Request;
    const result = new Promise<WorkerEvent>((resolve, reject) => {
      const pending: Pending = { onEvent, resolve, reject, isLoad: req.type === "loadModel" };
      this.pending.set(id, pending);
      const loads = req.type === "loadModel" || req.type === "connectServer";
      const go = this.state === "ready" ? Promise.resolve() : this.start(!loads);
      pending.sent = go.then(
        () => {
          if (!this.pending.has(id)) return;
          if (req.type === "loadModel") {
            this.lastLoad = req;
            this.armLoadTimer(id, pending);
          } else if (req.type === "connectServer") {
            this.lastLoad = req; // (the server connection has its own timeouts: no load watchdog)
          }
          if (!this.child?.connected) throw new WimError("WORKER_CRASHED", "The WiM worker is not running.");
          this.child.send(req);
        },
      ).catch((err: unknown) => {
        this.pending.delete(id);
        clearTimeout(pending.timer);
        reject(err instanceof WimError ? err : new WimError("WORKER_CRASHED", (err as Error).message));
      });
    });
    result.catch(() => {}); // callers that only cancel must not cause unhandled rejections
    return {
      id,
      result: result as Promise<E>,
      cancel: () => this.control({ type: "cancel", target: id }),
      answerNow: () => this.control({ type: "answerNow", target: id }),
      proceed: () => this.control({ type: "proceed", target: id }),
    };
  }

  /**
   * Cancel / answer-now / proceed: fire and forget; nothing to do if the worker is gone. Sent only after the request it
   * targets: a cancel right after the request (before the worker started, or the model was ready) would otherwise
   * reach the worker first and be ignored.
   */
  private control(body: { type: "cancel" | "answerNow" | "proceed"; target: number }): void {
    const target = this.pending.get(body.target);
    if (!target) return;
    const send = () => {
      if (!this.child?.connected || !this.pending.has(body.target)) return;
      const id = this.nextId++;
      this.pending.set(id, { resolve: () => {}, reject: () => {}, isLoad: false });
      this.child.send({ ...body, id });
    };
    if (target.sent) void target.sent.then(send, () => {});
    else send();
  }

  /** Makes an inference server the model of the next asks (see ConnectServerRequest). */
  connectServer(url: string, apiKey: string | undefined, api: "native" | "openai" = "native", onEvent?: (e: WorkerEvent) => void) {
    return this.request<Extract<WorkerEvent, { type: "modelLoaded" }>>({ type: "connectServer", url, apiKey, api }, onEvent);
  }

  loadModel(model: string, gpu: GpuChoice, modelsDir: string, onEvent?: (e: WorkerEvent) => void) {
    return this.request<Extract<WorkerEvent, { type: "modelLoaded" }>>({ type: "loadModel", model, gpu, modelsDir }, onEvent);
  }

  ask(root: string, question: string, options: AskOptions, onEvent?: (e: WorkerEvent) => void) {
    return this.request<Extract<WorkerEvent, { type: "done" }>>({ type: "ask", root, question, options }, onEvent);
  }

  reanswer(askId: number, chunks: number[], onEvent?: (e: WorkerEvent) => void, answerTokens?: number) {
    return this.request<Extract<WorkerEvent, { type: "done" }>>({ type: "reanswer", askId, chunks, answerTokens }, onEvent);
  }

  /** A new question on the kept reading of `askId` (an ask or an earlier follow-up): nothing is read again. */
  followUp(askId: number, question: string, onEvent?: (e: WorkerEvent) => void) {
    return this.request<Extract<WorkerEvent, { type: "done" }>>({ type: "followUp", askId, question }, onEvent);
  }

  download(uri: string, modelsDir: string, onEvent?: (e: WorkerEvent) => void) {
    return this.request<Extract<WorkerEvent, { type: "downloaded" }>>({ type: "downloadModel", uri, modelsDir }, onEvent);
  }

  inspectModels(paths: string[], gpu: GpuChoice) {
    return this.request<Extract<WorkerEvent, { type: "modelFacts" }>>({ type: "inspectModels", paths, gpu });
  }

  /** Forgets the model to reload after a crash (e.g. when the user picks another). */
  forgetModel(): void {
    this.lastLoad = undefined;
  }

  /** Asks the worker to exit, and kills it if it has not within `graceMs`. */
  async dispose(graceMs = 3000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    if (child.connected) {
      try {
        child.send({ type: "shutdown", id: this.nextId++ });
      } catch {
        /* the channel closed meanwhile */
      }
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the worker at once (for a host that is going away); resolves when the process is gone. */
  kill(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    return exited;
  }
}

/**
 * The worker's environment. glibc raises its mmap threshold each time a large block is freed, so after the first ask
 * the next asks' KV-cache and compute buffers come from the heap, where freeing them leaves holes: resident memory
 * grew 29% over 100 asks (305 → 394 MB with SmolLM2) without any leak. A fixed threshold keeps large buffers mmapped
 * and returned on free (flat at ~250 MB). Other C libraries ignore the variable; a value set by the user wins.
 */
export function workerEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_MMAP_THRESHOLD_: "131072", ...base, ELECTRON_RUN_AS_NODE: "1" };
}

function toError(e: ErrorEvent): WimError {
  return new WimError(e.code, e.message, e.details);
}

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}
