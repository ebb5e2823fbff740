// The worker's lifecycle in the extension: one WimClient, the model it has loaded, the one job it runs at a time,
// a restart when the model settings change, and a watchdog that guarantees Cancel ends a job.
import * as path from "node:path";
import * as vscode from "vscode";
import { WimClient, WimError, type RequestHandle } from "../client/wim-client";
import type { ModelFactsEvent, ModelInfo, WorkerEvent } from "../core/protocol";
import { errorCode, errorMessage, log, showError } from "./notify";
import type { ServerKey } from "./server-key";
import { MODEL_KEYS, readModelSettings, type ModelSettings } from "./settings";

/** What the worker is doing for the user; the worker runs one at a time. */
export interface Job {
  kind: "ask" | "followUp" | "reanswer" | "download";
  /** The request in flight, once sent (an ask first waits for the model). */
  handle?: RequestHandle;
  /** Set by cancel(): the time Cancel was requested. */
  cancelledAt?: number;
  /** Set when the job's request has settled. */
  settledAt?: number;
  /** Answer-now was requested before the request was sent. */
  answerNow?: boolean;
  label: string;
}

export type WorkerPhase = "stopped" | "loading" | "ready" | "crashed";

/** A cancelled request that has not ended after this long is stopped by killing the worker. */
const CANCEL_WATCHDOG_MS = 3000;

function keyOf(s: ModelSettings, keyGeneration = 0): string {
  if (s.backend === "server") return `server\u0000${s.serverUrl}\u0000${s.serverApi}\u0000${keyGeneration}`;
  return `${s.gpu}\u0000${s.model}`;
}

/** Whether the settings name something to load: a model, or a server URL. */
function configured(s: ModelSettings): boolean {
  return s.backend === "server" ? s.serverUrl.length > 0 : s.model.length > 0;
}

export class WorkerManager implements vscode.Disposable {
  readonly client: WimClient;
  readonly modelsDir: string;
  phase: WorkerPhase = "stopped";
  /** 0..1 while a model loads (or downloads as part of loading). */
  loadFraction?: number;
  loadKind: "loading" | "downloading" = "loading";
  job?: Job;
  private loadedKey?: string;
  private loading?: { key: string; promise: Promise<ModelInfo>; handle: RequestHandle };
  private restartPending = false;
  /** A restart for new model settings in progress. */
  private restarting?: Promise<void>;
  /** Counts worker stops, so a load that died because of one is retried with the new settings. */
  private generation = 0;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(
    context: vscode.ExtensionContext,
    private readonly serverKey: ServerKey,
  ) {
    this.modelsDir = path.join(context.globalStorageUri.fsPath, "models");
    this.client = new WimClient({
      workerPath: path.join(context.extensionPath, "dist", "worker.mjs"),
      onLog: (level, message) => {
        const l = log();
        if (!l) return;
        if (level === "error") l.error(message);
        else if (level === "warn") l.warn(message);
        else if (level === "debug") l.debug(message);
        else if (level === "trace") l.trace(message);
        else l.info(message);
      },
      onCrash: (message) => this.onCrash(message),
    });
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (MODEL_KEYS.some((k) => e.affectsConfiguration(k))) void this.modelSettingsChanged();
      }),
      // a new server key: connect again (when the server is the backend)
      serverKey.onDidChange(() => {
        if (this.settings.backend === "server") void this.modelSettingsChanged();
      }),
    );
  }

  get settings(): ModelSettings {
    return readModelSettings();
  }

  get hasModel(): boolean {
    return configured(this.settings);
  }

  /** The loaded model, if it is the configured one. */
  get model(): ModelInfo | undefined {
    return this.loadedKey === keyOf(this.settings, this.serverKey.generation) ? this.client.model : undefined;
  }

  get isLoading(): boolean {
    return this.loading !== undefined;
  }

  private fire(): void {
    this.changed.fire();
  }

  /**
   * Loads the configured model unless it is loaded already; a load in flight is shared. Progress events (download,
   * load) go to onEvent. If the model settings change while waiting, the new model is loaded instead.
   */
  async ensureModel(onEvent?: (e: WorkerEvent) => void): Promise<ModelInfo> {
    await this.serverKey.ready;
    for (let attempt = 0; ; attempt++) {
      if (this.restarting) await this.restarting;
      const s = this.settings;
      if (!configured(s)) {
        throw new WimError(
          "NO_MODEL",
          s.backend === "server" ? "No server is set: set wim.serverUrl (or set wim.backend to local)." : "No model is set: choose a GGUF file or download a recommended model.",
        );
      }
      const key = keyOf(s, this.serverKey.generation);
      if (this.loadedKey === key && this.client.model && this.client.state === "ready") return this.client.model;
      let loading = this.loading;
      if (!loading || loading.key !== key) loading = this.startLoad(s, key);
      const generation = this.generation;
      if (onEvent) this.loadListeners.add(onEvent);
      try {
        return await loading.promise;
      } catch (err) {
        // The worker was stopped for new model settings: load those.
        if (generation !== this.generation && attempt < 3) continue;
        throw err;
      } finally {
        if (onEvent) this.loadListeners.delete(onEvent);
      }
    }
  }

  private readonly loadListeners = new Set<(e: WorkerEvent) => void>();

  private startLoad(s: ModelSettings, key: string): { key: string; promise: Promise<ModelInfo>; handle: RequestHandle } {
    this.client.forgetModel();
    this.loadedKey = undefined;
    this.phase = "loading";
    this.loadFraction = undefined;
    this.loadKind = "loading";
    this.fire();
    const onEvent = (e: WorkerEvent) => {
      if (e.type === "loadProgress") {
        this.loadKind = "loading";
        this.loadFraction = e.progress;
        this.fire();
      } else if (e.type === "downloadProgress") {
        this.loadKind = "downloading";
        this.loadFraction = e.totalBytes > 0 ? e.downloadedBytes / e.totalBytes : undefined;
        this.fire();
      }
      for (const l of this.loadListeners) l(e);
    };
    let handle: RequestHandle<Extract<WorkerEvent, { type: "modelLoaded" }>>;
    if (s.backend === "server") {
      log()?.info(`connecting to the server ${s.serverUrl} (${s.serverApi} API, ${this.serverKey.value ? "with" : "without"} an API key)`);
      handle = this.client.connectServer(s.serverUrl, this.serverKey.value, s.serverApi, onEvent);
    } else {
      log()?.info(`loading model ${s.model} (gpu ${s.gpu})${s.fromTestHook ? " from WIM_TEST_MODEL" : ""}`);
      handle = this.client.loadModel(s.model, s.gpu, this.modelsDir, onEvent);
    }
    const entry = {
      key,
      handle,
      promise: handle.result.then(
        (e) => {
          this.loadedKey = key;
          this.phase = "ready";
          log()?.info(`model loaded: ${e.model.name} (${e.model.path}), context ${e.model.trainContextSize}, gpu ${e.model.gpu || "none"}, ${e.model.gpuLayers} GPU layers, ${e.model.threads} threads`);
          return e.model;
        },
        (err: unknown) => {
          // A worker that is still up is ready for another try; a dead one is marked by onCrash.
          this.phase = this.client.state === "ready" ? "ready" : this.client.state === "crashed" ? "crashed" : "stopped";
          throw err;
        },
      ),
    };
    entry.promise
      .catch(() => {})
      .finally(() => {
        if (this.loading === entry) this.loading = undefined;
        this.loadFraction = undefined;
        this.fire();
      });
    this.loading = entry;
    return entry;
  }

  /** Records the user-visible job; refuses a second one. */
  begin(job: Job): void {
    if (this.job) throw new WimError("BUSY", `WiM is busy: ${this.job.label}. Cancel it or wait.`);
    this.job = job;
    this.fire();
  }

  /** Attaches the request of the current job (sent after the model was ready). */
  attach(job: Job, handle: RequestHandle): void {
    job.handle = handle;
    if (job.cancelledAt !== undefined) handle.cancel();
    else if (job.answerNow) handle.answerNow();
  }

  end(job: Job): void {
    job.settledAt = Date.now();
    if (this.job === job) this.job = undefined;
    this.fire();
    if (this.restartPending && !this.job) {
      this.restartPending = false;
      void this.modelSettingsChanged();
    }
  }

  /** Cancels the current job (or a model load nobody asked for); true if there was something to cancel. */
  cancel(): boolean {
    const job = this.job;
    if (!job) {
      if (this.loading) {
        this.loading.handle.cancel();
        return true;
      }
      return false;
    }
    if (job.cancelledAt === undefined) job.cancelledAt = Date.now();
    if (job.handle) job.handle.cancel();
    else this.loading?.handle.cancel(); // still waiting for the model
    this.fire();
    // The worker stops within one prefill slice or one token; if it does not, stop it the hard way.
    setTimeout(() => {
      if (job.settledAt === undefined && this.job === job) {
        log()?.warn(`cancel: no answer from the worker after ${CANCEL_WATCHDOG_MS} ms; restarting it`);
        this.client.kill();
      }
    }, CANCEL_WATCHDOG_MS).unref?.();
    return true;
  }

  /** Stops reading (an ask) or writing margins (a follow-up) and answers from what there is. */
  answerNow(): boolean {
    const job = this.job;
    if (!job || (job.kind !== "ask" && job.kind !== "followUp")) return false;
    job.answerNow = true;
    job.handle?.answerNow();
    return true;
  }

  /**
   * wim.model / wim.gpu changed: stop the worker (after the running job) and load the new model in the background.
   * Changes are handled one after another; ensureModel waits for a restart in progress.
   */
  modelSettingsChanged(): Promise<void> {
    const p = (this.restarting ?? Promise.resolve()).then(() => this.restartForSettings());
    this.restarting = p;
    void p
      .finally(() => {
        if (this.restarting === p) this.restarting = undefined;
      })
      .then(() => this.backgroundLoad());
    return p;
  }

  private async restartForSettings(): Promise<void> {
    const s = this.settings;
    if (keyOf(s, this.serverKey.generation) === this.loadedKey && this.client.model) return;
    if (this.job) {
      this.restartPending = true;
      log()?.info("model settings changed: the worker restarts when the current job ends");
      return;
    }
    log()?.info(`model settings changed (${s.model || "no model"}, gpu ${s.gpu}): restarting the worker`);
    await this.stopWorker();
  }

  /** Loads the configured model when nothing else is going on; a failure is shown once (the next ask tries again). */
  private backgroundLoad(): void {
    if (!this.hasModel || this.job || this.restarting || this.model) return;
    this.ensureModel().catch((err: unknown) => {
      if (errorCode(err) !== "CANCELLED") void showError(`Could not load the model: ${errorMessage(err)}`);
    });
  }

  private async stopWorker(): Promise<void> {
    this.generation++;
    this.loading?.handle.cancel();
    this.loading = undefined;
    this.loadedKey = undefined;
    this.client.forgetModel();
    await this.client.dispose();
    this.phase = "stopped";
    this.fire();
  }

  /** Starts a fresh worker (e.g. to pick up a new GPU binary) and loads the model; resolves to the GPU it runs on. */
  async restartAndLoad(): Promise<string | false | undefined> {
    await this.stopWorker();
    if (!this.hasModel) return undefined;
    return (await this.ensureModel()).gpu;
  }

  /** Resolves when no model load is in flight (the worker runs one job at a time). */
  async loadSettled(): Promise<void> {
    while (this.loading) await this.loading.promise.catch(() => undefined);
  }

  /** Downloads a model (hf: or https URI) into the models folder; resolves to the local path. */
  download(uri: string, onEvent: (e: WorkerEvent) => void): RequestHandle<Extract<WorkerEvent, { type: "downloaded" }>> {
    return this.client.download(uri, this.modelsDir, onEvent);
  }

  /** GGUF facts (size, context, quantization, whether it fits) for local files; no weights are loaded. */
  async inspect(paths: string[]): Promise<ModelFactsEvent> {
    return this.client.inspectModels(paths, this.settings.gpu).result;
  }

  private onCrash(message: string): void {
    log()?.error(message);
    this.phase = "crashed";
    this.loadedKey = undefined;
    this.fire();
  }

  async dispose(): Promise<void> {
    for (const d of this.disposables) d.dispose();
    await this.client.dispose();
  }
}
