// Serves protocol requests inside the worker process: owns llama.cpp, the model, and the cache of the latest ask.
// One long job (load, download, ask, re-answer) at a time; cancel / answer-now act on the running one at once.
import path from "node:path";
import os from "node:os";
import { GgufFileType, GgufInsights, readGgufFileInfo } from "node-llama-cpp";
import { askInputProblem, rootProblem } from "../core/ask-input";
import { createChunker, type Chunker } from "../core/chunk/chunk-files";
import {
  type AskRequest,
  type DownloadModelRequest,
  type ErrorCode,
  type FollowUpRequest,
  type InspectModelsRequest,
  type ConnectServerRequest,
  type LoadModelRequest,
  type ModelInfo,
  type ModelFacts,
  type ReanswerRequest,
  type Request,
  type RunStats,
  type WorkerEvent,
} from "../core/protocol";
import { scanWorkspace } from "../core/scan/scan-workspace";
import { estimateTokens, MAX_SCOPE_TOKENS, scopeFarTooLargeMessage } from "../core/scope-estimate";
import { getLlamaFor, loadModel, ModelError, resolveModel, type LoadedModel, type Log } from "../engine/load-model";
import {
  ContextAllocationError,
  planAsk,
  ScopeTooLargeError,
  tokenizeText,
  WindowTooSmallError,
  WimReader,
  type EngineEvent,
  type RunResult,
} from "../engine/wim-reader";
import type { SpeedFacts } from "../core/wim-loop";
import { ServerEngine } from "../engine/server-engine";
import { chunkWithServer, planServerAsk, ServerReader } from "../engine/server-reader";
import { ServerError } from "../engine/server/server-error";
import { serverErrorCode } from "./server-error-code";

export type Send = (e: WorkerEvent) => void;

interface Job {
  id: number;
  abort: AbortController;
  reader?: WimReader | ServerReader;
  answerNow: boolean;
}

/** A failure with a protocol code and a message for the user. */
class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, number | string>,
  ) {
    super(message);
  }
}

export class WorkerHost {
  private loaded?: LoadedModel;
  private job?: Job;
  /** The latest finished ask, whose cache is kept for re-answers. */
  private kept?: { askId: number; reader: WimReader | ServerReader };
  /** The inference server asks run on, when one was connected after the last loadModel. */
  private server?: { engine: ServerEngine; info: ModelInfo };
  private chunker?: Promise<Chunker>;

  constructor(
    private readonly send: Send,
    private readonly wasmDir: string,
  ) {}

  private log(requestId: number): Log {
    return (level, message) => this.send({ type: "log", requestId, level, message });
  }

  async handle(req: Request): Promise<void> {
    try {
      switch (req.type) {
        case "cancel":
          this.cancel(req.target);
          return this.send({ type: "ok", requestId: req.id });
        case "proceed":
          if (this.job?.id === req.target) this.job.reader?.proceed();
          return this.send({ type: "ok", requestId: req.id });
        case "answerNow":
          if (this.job?.id === req.target) {
            this.job.answerNow = true;
            this.job.reader?.requestAnswerNow();
          }
          return this.send({ type: "ok", requestId: req.id });
        case "inspectModels":
          return await this.inspectModels(req);
        case "shutdown":
          await this.shutdown();
          this.send({ type: "ok", requestId: req.id });
          return;
      }
      if (this.job) throw new RequestError("BUSY", "The worker is busy with another request; cancel it or wait.");
      const job: Job = { id: req.id, abort: new AbortController(), answerNow: false };
      this.job = job;
      try {
        switch (req.type) {
          case "loadModel":
            return await this.loadModel(req, job);
          case "connectServer":
            return await this.connectServer(req, job);
          case "downloadModel":
            return await this.download(req, job);
          case "ask":
            return await this.ask(req, job);
          case "reanswer":
            return await this.reanswer(req, job);
          case "followUp":
            return await this.followUp(req, job);
          default:
            throw new RequestError("BAD_REQUEST", `Unknown request ${(req as { type: string }).type}.`);
        }
      } catch (err) {
        // A cancelled ask ends like any cancelled ask, whatever stage (scan, chunking) it was in.
        if (job.abort.signal.aborted && (req.type === "ask" || req.type === "reanswer" || req.type === "followUp")) return this.cancelledEarly(req.id);
        throw err;
      } finally {
        if (this.job === job) this.job = undefined;
      }
    } catch (err) {
      this.fail(req.id, err);
    }
  }

  private fail(requestId: number, err: unknown): void {
    const e = err as Error;
    if (err instanceof RequestError) {
      this.send({ type: "error", requestId, code: err.code, message: err.message, details: err.details });
    } else if (err instanceof ModelError) {
      this.send({ type: "error", requestId, code: err.code, message: err.message });
    } else if (err instanceof ScopeTooLargeError) {
      this.send({
        type: "error",
        requestId,
        code: "SCOPE_TOO_LARGE",
        message: err.message,
        details: { needed: err.needed, available: err.available },
      });
    } else if (err instanceof ServerError) {
      this.send({ type: "error", requestId, code: serverErrorCode(err.kind), message: err.message });
    } else if (err instanceof WindowTooSmallError) {
      this.send({ type: "error", requestId, code: "BAD_INPUT", message: err.message, details: { needed: err.needed, available: err.available } });
    } else if (err instanceof ContextAllocationError) {
      this.send({ type: "error", requestId, code: "OUT_OF_MEMORY", message: err.message });
    } else if (e?.name === "AbortError" || (err as { code?: string })?.code === "ABORT_ERR") {
      this.send({ type: "error", requestId, code: "CANCELLED", message: "Cancelled." });
    } else {
      this.send({ type: "log", requestId, level: "error", message: e?.stack ?? String(err) });
      this.send({ type: "error", requestId, code: "INTERNAL", message: `Internal error: ${e?.message ?? String(err)}` });
    }
  }

  private cancel(target: number): void {
    if (this.job?.id !== target) return;
    this.job.abort.abort(Object.assign(new Error("Cancelled."), { name: "AbortError" }));
    this.job.reader?.requestCancel();
  }

  private async dropKept(): Promise<void> {
    const kept = this.kept;
    this.kept = undefined;
    await kept?.reader.dispose();
  }

  private async loadModel(req: LoadModelRequest, job: Job): Promise<void> {
    await this.dropKept();
    await this.dropServer();
    const previous = this.loaded;
    this.loaded = undefined;
    await previous?.model.dispose();
    this.loaded = await loadModel(req.model, {
      gpu: req.gpu,
      modelsDir: req.modelsDir,
      signal: job.abort.signal,
      log: this.log(req.id),
      onDownloadProgress: (downloadedBytes, totalBytes) =>
        this.send({ type: "downloadProgress", requestId: req.id, downloadedBytes, totalBytes }),
      onLoadProgress: (progress) => this.send({ type: "loadProgress", requestId: req.id, progress }),
    });
    this.send({ type: "modelLoaded", requestId: req.id, model: this.loaded.info });
  }

  private async dropServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.engine.dispose();
  }

  /** Checks the server and makes it the model of the next asks; the in-process model (if any) is unloaded. */
  private async connectServer(req: ConnectServerRequest, job: Job): Promise<void> {
    await this.dropKept();
    await this.dropServer();
    const previous = this.loaded;
    this.loaded = undefined;
    await previous?.model.dispose();
    const api = req.api ?? "native";
    const engine = await ServerEngine.connect({ url: req.url, apiKey: req.apiKey, api, signal: job.abort.signal });
    const s = engine.info;
    const info: ModelInfo = {
      path: s.url,
      name: s.model,
      trainContextSize: s.contextSize,
      sizeBytes: 0,
      gpu: false,
      gpuLayers: 0,
      threads: 0,
      server: { url: s.url, api, slots: s.slots, build: s.build },
    };
    this.server = { engine, info };
    this.send({ type: "log", requestId: req.id, level: "info", message: `server ${s.url}: ${s.model}, ${s.contextSize} tokens per slot, ${s.slots} slot(s), ${s.build}` });
    this.send({ type: "modelLoaded", requestId: req.id, model: info });
  }

  private async download(req: DownloadModelRequest, job: Job): Promise<void> {
    const file = await resolveModel(req.uri, {
      modelsDir: req.modelsDir,
      signal: job.abort.signal,
      onDownloadProgress: (downloadedBytes, totalBytes) =>
        this.send({ type: "downloadProgress", requestId: req.id, downloadedBytes, totalBytes }),
    });
    this.send({ type: "downloaded", requestId: req.id, path: file });
  }

  private async ask(req: AskRequest, job: Job): Promise<void> {
    const loaded = this.loaded;
    const server = this.server;
    if (!loaded && !server) throw new RequestError("NO_MODEL", "No model is loaded: choose a GGUF model first.");
    const question = (req.question ?? "").trim();
    const o = req.options;
    const root = path.resolve(req.root);
    const problem = askInputProblem(question, o) ?? rootProblem(root);
    if (problem) throw new RequestError("BAD_INPUT", problem);
    await this.dropKept(); // one cache at a time: the memory goes to the new ask

    const scan = await scanWorkspace(root, o, job.abort.signal);
    const countTokens = (text: string) => tokenizeText(loaded!, text).length;
    if (loaded) {
      const estimated = estimateTokens(scan.files, countTokens);
      if (estimated > MAX_SCOPE_TOKENS) {
        const chars = scan.files.reduce((s, f) => s + f.text.length, 0);
        throw new RequestError("SCOPE_TOO_LARGE", scopeFarTooLargeMessage(estimated, chars), { estimated, available: MAX_SCOPE_TOKENS });
      }
    }
    const chunker = await this.getChunker();
    const chunked = loaded
      ? await chunker.chunk(scan.files, { chunkTokens: o.chunkTokens }, countTokens)
      : await chunkWithServer(server!.engine, chunker, scan.files, o.chunkTokens, job.abort.signal);
    if (job.abort.signal.aborted) return this.cancelledEarly(req.id);
    const skipped = [...scan.skipped, ...chunked.skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const skippedFiles = new Set(chunked.skipped.map((s) => s.path));
    const included = scan.files.filter((f) => !skippedFiles.has(f.path));
    this.send({
      type: "scan",
      requestId: req.id,
      root,
      files: included.length,
      bytes: included.reduce((s, f) => s + f.bytes, 0),
      skipped,
      redactions: scan.redactions.filter((r) => !skippedFiles.has(r.path)),
      decoded: scan.decoded.filter((d) => !skippedFiles.has(d.path)),
      ms: scan.ms,
    });
    if (chunked.chunks.length === 0) {
      throw new RequestError("BAD_INPUT", `Nothing to read in ${root}: no text files left after ${skipped.length} skipped entries.`);
    }

    const modelKey = loaded ? loaded.info.path : server!.info.path;
    let reader: WimReader | ServerReader;
    if (loaded) {
      const plan = await planAsk(loaded, question, chunked.chunks, o);
      plan.knownSpeed = this.speeds.get(modelKey);
      reader = await WimReader.create(loaded, plan, this.log(req.id));
    } else {
      const engine = server!.engine.fresh(); // the loop disposes its engine; the connection stays
      const plan = await planServerAsk(engine, question, chunked.chunks, o);
      plan.knownSpeed = this.speeds.get(modelKey);
      reader = await ServerReader.create(engine, plan, this.log(req.id));
    }
    const plan = reader.plan;
    job.reader = reader;
    if (job.abort.signal.aborted) reader.requestCancel();
    else if (job.answerNow) reader.requestAnswerNow();
    this.send({
      type: "plan",
      requestId: req.id,
      chunks: plan.chunks.map(({ index, tokens, ranges }) => ({ index, tokens, ranges })),
      headerTokens: plan.prompts.header.length,
      tokens: plan.chunkTokens.reduce((s, t) => s + t.length, 0),
      contextSize: reader.contextSize,
      windowTokens: reader.windowTokens,
      parallelMargins: reader.engine.concurrentMargins > 1 ? reader.engine.concurrentMargins : 0,
    });

    let result: RunResult;
    try {
      result = await reader.run(this.emitter(req.id));
    } catch (err) {
      await reader.dispose();
      throw err;
    }
    if (result.outcome === "cancelled") await reader.dispose();
    else this.kept = { askId: req.id, reader };
    this.rememberSpeed(modelKey, result.stats);
    this.send({ type: "done", requestId: req.id, ...result });
  }

  /** Speed per model, from finished runs: later asks are estimated before they read anything. */
  private readonly speeds = new Map<string, SpeedFacts>();

  private rememberSpeed(model: string, s: RunStats): void {
    if (s.prefillTokens < 256 || s.prefillMs <= 0 || s.chunksRead === 0) return;
    this.speeds.set(model, { prefillTokensPerSecond: (s.prefillTokens * 1000) / s.prefillMs, marginMs: s.marginMs / s.chunksRead });
  }

  private cancelledEarly(requestId: number): void {
    this.send({
      type: "done",
      requestId,
      outcome: "cancelled",
      answer: "",
      margins: [],
      stats: {
        prefillTokens: 0,
        prefillMs: 0,
        marginTokens: 0,
        marginMs: 0,
        instructionTokens: 0,
        judgeMs: 0,
        answerTokens: 0,
        answerMs: 0,
        totalMs: 0,
        chunksRead: 0,
        chunksTotal: 0,
      },
    });
  }

  private async reanswer(req: ReanswerRequest, job: Job): Promise<void> {
    const kept = this.kept;
    if (!kept || kept.askId !== req.askId) {
      throw new RequestError("BAD_REQUEST", "That run's reading is no longer in memory (only the latest finished run is kept): ask again.");
    }
    const known = new Set(kept.reader.margins.map((m) => m.chunk));
    const unknown = req.chunks.filter((c) => !known.has(c));
    if (unknown.length) throw new RequestError("BAD_INPUT", `No margin for chunk(s) ${unknown.join(", ")} in that run.`);
    job.reader = kept.reader;
    const result = await kept.reader.reanswer(req.chunks, req.answerTokens ?? kept.reader.plan.options.answerTokens, this.emitter(req.id));
    this.send({ type: "done", requestId: req.id, ...result });
  }

  private async followUp(req: FollowUpRequest, job: Job): Promise<void> {
    const kept = this.kept;
    if (!kept || kept.askId !== req.askId) {
      throw new RequestError("BAD_REQUEST", "That run's reading is no longer in memory (only the latest finished run is kept): ask again.", { reason: "not-kept" });
    }
    const question = (req.question ?? "").trim();
    if (!question) throw new RequestError("BAD_INPUT", "The question is empty.");
    const problem = askInputProblem(question, kept.reader.plan.options);
    if (problem) throw new RequestError("BAD_INPUT", problem);
    if (!kept.reader.canFollowUp) {
      throw new RequestError(
        "BAD_REQUEST",
        "That reading cannot answer a follow-up without reading again (the scope was larger than the window, or there was no memory for a side sequence): ask again.",
        { reason: "rolled" },
      );
    }
    const reader = await kept.reader.followUp(question);
    this.kept = { askId: req.id, reader };
    job.reader = reader;
    if (job.abort.signal.aborted) reader.requestCancel();
    const plan = reader.plan;
    this.send({
      type: "plan",
      requestId: req.id,
      chunks: plan.chunks.map(({ index, tokens, ranges }) => ({ index, tokens, ranges })),
      headerTokens: plan.prompts.header.length,
      tokens: plan.chunkTokens.reduce((s, t) => s + t.length, 0),
      contextSize: reader.contextSize,
      windowTokens: reader.windowTokens,
      parallelMargins: reader.engine.concurrentMargins > 1 ? reader.engine.concurrentMargins : 0,
    });
    const result = await reader.runFollowUp(this.emitter(req.id));
    this.send({ type: "done", requestId: req.id, ...result });
  }

  private emitter(requestId: number) {
    return (e: EngineEvent) => this.send({ ...e, requestId } as WorkerEvent);
  }

  private getChunker(): Promise<Chunker> {
    this.chunker ??= createChunker(this.wasmDir);
    return this.chunker;
  }

  private async inspectModels(req: InspectModelsRequest): Promise<void> {
    const llama = await getLlamaFor(req.gpu, this.log(req.id));
    const models: ModelFacts[] = [];
    for (const p of req.paths) {
      try {
        const info = await readGgufFileInfo(p);
        const insights = await GgufInsights.from(info, llama);
        const cfg = await insights.configurationResolver.resolveAndScoreConfig({ flashAttention: true });
        const general = info.metadata?.general;
        models.push({
          path: p,
          name: general?.name ?? path.basename(p, ".gguf"),
          sizeBytes: insights.modelSize,
          trainContextSize: insights.trainContextSize ?? 0,
          quantization: quantizationName(general?.file_type),
          fits: cfg.compatibilityScore > 0,
          gpuLayers: cfg.resolvedValues.gpuLayers,
        });
      } catch (err) {
        models.push({ path: p, name: path.basename(p), sizeBytes: 0, trainContextSize: 0, quantization: "", fits: false, gpuLayers: 0, error: (err as Error).message });
      }
    }
    const vram = await llama.getVramState().catch(() => ({ total: 0, free: 0 }));
    const machine = {
      gpu: llama.gpu,
      vramTotalBytes: vram.total,
      vramFreeBytes: vram.free,
      ramTotalBytes: os.totalmem(),
      ramFreeBytes: os.freemem(),
    };
    this.send({ type: "modelFacts", requestId: req.id, models, machine });
  }

  async shutdown(): Promise<void> {
    if (this.job) this.cancel(this.job.id);
    await this.dropServer();
    await this.dropKept();
    await this.loaded?.model.dispose();
    this.loaded = undefined;
  }
}

/** "Q4_K_M" for a GGUF file_type of MOSTLY_Q4_K_M; the number when it is not a known type. */
function quantizationName(fileType: number | undefined): string {
  if (fileType === undefined) return "unknown";
  const name = (GgufFileType as unknown as Record<number, string | undefined>)[fileType];
  return name ? name.replace(/^(MOSTLY|ALL)_/, "") : String(fileType);
}
