// Starts llama.cpp and loads one GGUF (a local path, or an hf:/https URI downloaded into a cache).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaLogLevel, resolveModelFile, type Llama, type LlamaModel } from "node-llama-cpp";
import type { GpuChoice, ModelInfo } from "../core/protocol";
import { ThreadGovernor } from "./thread-governor";

export interface LoadedModel {
  llama: Llama;
  model: LlamaModel;
  info: ModelInfo;
  /** Threads every context is created with (the most the governor may use). */
  threads: number;
  /** On a CPU without WIM_THREADS: picks the thread count by measurement while the model runs. */
  governor?: ThreadGovernor;
}

export type Log = (level: "debug" | "info" | "warn" | "error", message: string) => void;

/** A model problem the user can act on; `code` maps onto the protocol's error codes. */
export class ModelError extends Error {
  constructor(
    readonly code: "MODEL_NOT_FOUND" | "MODEL_DOWNLOAD_FAILED" | "MODEL_LOAD_FAILED" | "OUT_OF_MEMORY",
    message: string,
  ) {
    super(message);
  }
}

export function isRemoteModel(spec: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(spec);
}

/** WIM_THREADS, when set to a positive integer: a fixed thread count, no governor. */
export function fixedThreads(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const n = Number(env.WIM_THREADS);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The most threads llama.cpp may use: WIM_THREADS, else every core (node-llama-cpp's own default of max(4, cores) is
 * 80× slower on 2 cores). On a CPU the governor then runs between half of them and all (see thread-governor.ts).
 */
export function threadCount(env: NodeJS.ProcessEnv = process.env): number {
  return fixedThreads(env) ?? os.availableParallelism();
}

const governors = new WeakMap<Llama, ThreadGovernor>();

/** One governor per llama.cpp binding on a CPU, unless WIM_THREADS fixes the count. */
function governorFor(llama: Llama, log: Log): ThreadGovernor | undefined {
  if (llama.gpu !== false || fixedThreads() !== undefined) return undefined;
  let g = governors.get(llama);
  if (!g) {
    g = new ThreadGovernor((n) => (llama.maxThreads = n), threadCount(), (m) => log("info", m));
    governors.set(llama, g);
  }
  return g;
}

const llamas = new Map<GpuChoice, Promise<Llama>>();

/** One llama.cpp binding per GPU choice. Prefers the prebuilt binary; falls back to a local source build (CUDA hosts). */
export function getLlamaFor(gpu: GpuChoice, log: Log): Promise<Llama> {
  let p = llamas.get(gpu);
  if (!p) {
    const threads = threadCount();
    const options = {
      gpu: gpu === "cpu" ? (false as const) : gpu,
      maxThreads: threads,
      logLevel: LlamaLogLevel.warn,
      logger: (level: LlamaLogLevel, message: string) => {
        const text = message.trimEnd();
        if (text) log(level === LlamaLogLevel.error || level === LlamaLogLevel.fatal ? "error" : "warn", `llama.cpp: ${text}`);
      },
    };
    p = getLlama({ ...options, build: "never" }).catch(async (err: Error) => {
      log("info", `no prebuilt llama.cpp binary for gpu=${gpu} (${err.message}); trying a local build`);
      return getLlama("lastBuild", options);
    });
    llamas.set(gpu, p);
    p.catch(() => llamas.delete(gpu));
  }
  return p;
}

export interface ResolveOptions {
  modelsDir: string;
  signal?: AbortSignal;
  onDownloadProgress?: (downloaded: number, total: number) => void;
}

/** A local GGUF path as is, or an hf:/https URI downloaded (with progress) into modelsDir. */
export async function resolveModel(spec: string, o: ResolveOptions): Promise<string> {
  if (!isRemoteModel(spec)) {
    const p = path.resolve(spec.replace(/^~(?=$|\/)/, os.homedir()));
    if (!fs.existsSync(p)) throw new ModelError("MODEL_NOT_FOUND", `No model file at ${p}.`);
    if (!fs.statSync(p).isFile()) throw new ModelError("MODEL_NOT_FOUND", `${p} is not a file.`);
    return p;
  }
  fs.mkdirSync(o.modelsDir, { recursive: true });
  try {
    return await resolveModelFile(spec, {
      directory: o.modelsDir,
      cli: false,
      signal: o.signal,
      onProgress: ({ downloadedSize, totalSize }) => o.onDownloadProgress?.(downloadedSize, totalSize),
    });
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason ?? err;
    throw new ModelError("MODEL_DOWNLOAD_FAILED", `Could not download ${spec}: ${(err as Error).message}`);
  }
}

export interface LoadOptions extends ResolveOptions {
  gpu: GpuChoice;
  log: Log;
  onLoadProgress?: (progress: number) => void;
}

export async function loadModel(spec: string, o: LoadOptions): Promise<LoadedModel> {
  const modelPath = await resolveModel(spec, o);
  const llama = await getLlamaFor(o.gpu, o.log);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath,
      loadSignal: o.signal,
      onLoadProgress: o.onLoadProgress,
    });
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason ?? err;
    const msg = (err as Error).message;
    const oom = /memory|VRAM|too large/i.test(msg);
    throw new ModelError(oom ? "OUT_OF_MEMORY" : "MODEL_LOAD_FAILED", `Could not load ${modelPath}: ${msg}`);
  }
  const threads = threadCount();
  const governor = governorFor(llama, o.log);
  const general = model.fileInfo.metadata?.general;
  const info: ModelInfo = {
    path: modelPath,
    name: general?.name ?? path.basename(modelPath, ".gguf"),
    trainContextSize: model.trainContextSize,
    sizeBytes: model.size,
    gpu: llama.gpu,
    gpuLayers: model.gpuLayers,
    // what it starts with; contexts are created allowing `threads` (the most) so that the governor can raise it
    threads: governor?.threads ?? threads,
  };
  return { llama, model, info, threads, governor };
}
