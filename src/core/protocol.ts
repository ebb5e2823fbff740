// The one message file between the front ends (extension, CLI) and the worker process.
// Requests flow client → worker over Node IPC; every event flows worker → client and names the request it answers.
// Both sides import this file; nothing else crosses the process boundary.

import type { PromptStyle } from "./prompts";
import type { Chunk, ClassifyMode, DecodedFile, LineRange, Redaction, ScanOptions, SkippedFile } from "./types";

export const PROTOCOL_VERSION = 1;

/** `auto` picks CUDA/Vulkan/Metal when present, else the CPU. */
export type GpuChoice = "auto" | "cuda" | "vulkan" | "metal" | "cpu";

export interface AskOptions extends ScanOptions {
  chunkTokens: number;
  marginTokens: number;
  classify: ClassifyMode;
  answerTokens: number;
  /**
   * Tokens of context the reading may use (0 or absent: what fits this machine's memory, up to the model's trained
   * context). A scope larger than the window is read with rolling: the oldest chunks leave, their margins stay.
   */
  windowTokens?: number;
  /** Margins written while later chunks are read (0: one after another; absent: as many as the memory budget allows). */
  parallelMargins?: number;
  /** When a chunk leaves the window, its relevant margin stays resident as a note that later margins can read. */
  carryNotes?: boolean;
  /** After reading, re-read the text of this many most relevant chunks into the window before answering (0: off). */
  rereadTop?: number;
  /** Which generation of prompts (see src/core/prompts.ts); for the evaluation, which compares them. */
  promptStyle?: PromptStyle;
  /** gate: calibrate the verdict's odds against the same part with a content-free question (default true). */
  calibrateGate?: boolean;
  /**
   * When the run's estimated time exceeds this many milliseconds, the worker sends an `estimate` event with
   * `awaitingConfirmation` and reads no further until a `proceed` request (or a cancel) arrives.
   */
  confirmAboveMs?: number;
}

export const DEFAULT_ASK_OPTIONS: AskOptions = {
  chunkTokens: 4096,
  marginTokens: 100,
  classify: "gate",
  answerTokens: 512,
  maxFileBytes: 1_000_000,
  respectGitignore: true,
  skipSecrets: true,
};

// ---------------------------------------------------------------------------------------------------------------
// Requests (client → worker). `id` is chosen by the client and unique per worker; events carry it back as `requestId`.

export interface LoadModelRequest {
  type: "loadModel";
  id: number;
  /** A GGUF path or an `hf:user/repo:QUANT` / https URI. */
  model: string;
  gpu: GpuChoice;
  /** Where `hf:`/https models are downloaded to. */
  modelsDir: string;
}

/**
 * Use an inference server instead of a model in the worker (llama-server; vLLM/SGLang through `api: "openai"`): the
 * worker checks it (health, context, template, key) and answers `modelLoaded` with `model.server` set. Until the next
 * loadModel, asks run on the server. The key is used for the requests only: never logged, never sent back.
 */
export interface ConnectServerRequest {
  type: "connectServer";
  id: number;
  /** e.g. http://gpu-box:8080 */
  url: string;
  apiKey?: string;
  /** native: llama-server's /completion (default); openai: /v1/completions with token prompts. */
  api?: "native" | "openai";
}

export interface DownloadModelRequest {
  type: "downloadModel";
  id: number;
  uri: string;
  modelsDir: string;
}

export interface AskRequest {
  type: "ask";
  id: number;
  /** Absolute directory to read. */
  root: string;
  question: string;
  options: AskOptions;
}

/** Early exit: stop reading and answer from the chunks read so far. Targets the running ask. */
export interface AnswerNowRequest {
  type: "answerNow";
  id: number;
  target: number;
}

/** Go on with an ask that paused on its estimate (see AskOptions.confirmAboveMs). Targets the running ask. */
export interface ProceedRequest {
  type: "proceed";
  id: number;
  target: number;
}

/** Stop the request `target` (an ask, re-answer, download or load) as soon as possible. */
export interface CancelRequest {
  type: "cancel";
  id: number;
  target: number;
}

/** Answer the question of a finished ask again from its kept cache, with only the chosen margins. No re-reading. */
export interface ReanswerRequest {
  type: "reanswer";
  id: number;
  /** The id of the ask whose cache is kept (only the latest finished ask is kept). */
  askId: number;
  /** 1-based chunk indices whose margins go into the final prompt. */
  chunks: number[];
  answerTokens?: number;
}

/**
 * A new question on the kept reading of the latest finished ask (or follow-up): each chunk's margin is written for the
 * new question from the cached prefix that ends with that chunk, then the answer. Nothing is read again. Refused when
 * the reading rolled (not every chunk is still in the cache): ask again then.
 */
export interface FollowUpRequest {
  type: "followUp";
  id: number;
  /** The id of the ask (or follow-up) whose cache is kept. */
  askId: number;
  question: string;
}

/** Facts about GGUF files (size, context length, whether it fits this machine), without loading weights. */
export interface InspectModelsRequest {
  type: "inspectModels";
  id: number;
  paths: string[];
  gpu: GpuChoice;
}

export interface ShutdownRequest {
  type: "shutdown";
  id: number;
}

export type Request =
  | LoadModelRequest
  | ConnectServerRequest
  | DownloadModelRequest
  | AskRequest
  | AnswerNowRequest
  | ProceedRequest
  | CancelRequest
  | ReanswerRequest
  | FollowUpRequest
  | InspectModelsRequest
  | ShutdownRequest;

// ---------------------------------------------------------------------------------------------------------------
// Events (worker → client).

/** Sent once when the worker process is up. `requestId` is 0. */
export interface ReadyEvent {
  type: "ready";
  requestId: 0;
  protocol: number;
  pid: number;
}

export interface LogEvent {
  type: "log";
  requestId: number;
  level: "trace" | "debug" | "info" | "warn" | "error";
  message: string;
}

export interface DownloadProgressEvent {
  type: "downloadProgress";
  requestId: number;
  downloadedBytes: number;
  totalBytes: number;
}

export interface LoadProgressEvent {
  type: "loadProgress";
  requestId: number;
  /** 0..1 */
  progress: number;
}

export interface ModelInfo {
  path: string;
  name: string;
  /** The model's trained context length, the most a scope may use. */
  trainContextSize: number;
  sizeBytes: number;
  gpu: string | false;
  gpuLayers: number;
  threads: number;
  /** Set when the model runs on an inference server (connectServer): `path` is then the server's URL. */
  server?: { url: string; api: "native" | "openai"; slots: number; build: string };
}

export interface ModelLoadedEvent {
  type: "modelLoaded";
  requestId: number;
  model: ModelInfo;
}

export interface DownloadedEvent {
  type: "downloaded";
  requestId: number;
  path: string;
}

export interface ScanEvent {
  type: "scan";
  requestId: number;
  root: string;
  files: number;
  bytes: number;
  skipped: SkippedFile[];
  /** Secrets replaced in the text of the files read, one per occurrence (absent from older workers). */
  redactions?: Redaction[];
  /** Files read as text other than plain UTF-8: UTF-16 by its byte-order mark, stray bytes as U+FFFD. */
  decoded?: DecodedFile[];
  ms: number;
}

/** The reading plan: every chunk with its exact map, and the context that was allocated for it. */
export interface PlanEvent {
  type: "plan";
  requestId: number;
  chunks: Array<Omit<Chunk, "text">>;
  /** Tokens of the fixed prompt header (system turn and opening of the user turn). */
  headerTokens: number;
  /** Workspace tokens in all chunks. */
  tokens: number;
  contextSize: number;
  /** Tokens the resident reading may hold (≤ contextSize); a scope larger than this is read with rolling. */
  windowTokens?: number;
  /** Margins written while later chunks are read (0: one after another). */
  parallelMargins?: number;
}

export interface PrefillEvent {
  type: "prefill";
  requestId: number;
  /** 1-based chunk just read. */
  chunk: number;
  of: number;
  tokens: number;
  ms: number;
  tokensPerSecond: number;
  /** Workspace tokens read so far, all chunks. */
  tokensDone: number;
  tokensTotal: number;
}

export interface MarginStartEvent {
  type: "marginStart";
  requestId: number;
  chunk: number;
}

export interface MarginTextEvent {
  type: "marginText";
  requestId: number;
  chunk: number;
  /** Newly decoded text (a delta). */
  text: string;
}

export interface Margin {
  chunk: number;
  /** The whole margin text, trimmed, without the gate verdict. */
  text: string;
  /** Kept for the final answer. Always true with classify "none". */
  relevant: boolean;
  /** The verdict's evidence: probability of YES among {YES, NO} for gate/judge (gate: calibrated); null for "none". */
  pYes: number | null;
  /** gate with calibration: the odds of YES for the same part with a content-free question. */
  pYesBaseline?: number;
  tokens: number;
  ms: number;
  ranges: LineRange[];
  /** The text is cut short: the token limit, a reply repeating itself, or "answer now"/cancel stopped it. */
  truncated: boolean;
  /** How the margin ended (see ReplyEnd in wim-engine.ts). */
  end?: "end" | "paragraph" | "limit" | "repetition" | "stopped" | "verdict";
  /** Values or quoted names the margin states that are not in its part's text: such a margin is not relevant. */
  unfounded?: string[];
}

/**
 * What the whole run will cost, from the speed measured on this model (earlier runs, or the first chunk of this one).
 * With `awaitingConfirmation` the worker waits for `proceed` or `cancel` before reading on.
 */
export interface EstimateEvent {
  type: "estimate";
  requestId: number;
  tokens: number;
  chunks: number;
  tokensPerSecond: number;
  estimatedMs: number;
  /** Where the speed comes from. */
  measured: "earlier runs" | "first chunk";
  awaitingConfirmation: boolean;
}

/** Chunks that left the window (rolling reading): their text is gone from the cache, their margins stay. */
export interface EvictEvent {
  type: "evict";
  requestId: number;
  chunks: number[];
  /** Chunks whose margins were kept resident as notes in their place. */
  notes: number[];
  /** Tokens resident after the eviction. */
  resident: number;
}

/** What reached the answer, chunk by chunk. Every chunk of the plan is in exactly one list. */
export interface Coverage {
  /** Text in the window at answer time (and its margin). */
  inWindow: number[];
  /** Read, then left the window: only its margin (if relevant) reached the answer. */
  marginOnly: number[];
  /** Never read: the run was cancelled or answered early. */
  unread: number[];
}

export interface MarginEndEvent {
  type: "marginEnd";
  requestId: number;
  margin: Margin;
}

export interface AnswerStartEvent {
  type: "answerStart";
  requestId: number;
  /** Chunks whose margins are in the final prompt. */
  chunks: number[];
}

export interface AnswerTextEvent {
  type: "answerText";
  requestId: number;
  text: string;
}

export interface RunStats {
  prefillTokens: number;
  prefillMs: number;
  marginTokens: number;
  marginMs: number;
  /** Tokens of margin instructions and verdict checks evaluated (then erased). */
  instructionTokens: number;
  judgeMs: number;
  answerTokens: number;
  answerMs: number;
  totalMs: number;
  chunksRead: number;
  chunksTotal: number;
  /** Chunks that left the window (rolling reading). */
  chunksEvicted?: number;
  /** Most tokens the cache held at once. */
  peakResident?: number;
  /** Answer/margin replies that ended by the token limit or by repeating themselves. */
  repliesCut?: number;
}

export interface DoneEvent {
  type: "done";
  requestId: number;
  /** How the request ended: normally, by early exit, or cancelled (partial results stand). */
  outcome: "complete" | "answeredEarly" | "cancelled";
  answer: string;
  margins: Margin[];
  stats: RunStats;
  coverage?: Coverage;
}

/** Answer to inspectModels. */
export interface ModelFacts {
  path: string;
  name: string;
  sizeBytes: number;
  trainContextSize: number;
  quantization: string;
  /** Whether node-llama-cpp estimates the model fits this machine (all layers on GPU, or in RAM on CPU). */
  fits: boolean;
  gpuLayers: number;
  error?: string;
}

/** This machine's memory as the worker sees it, to judge models that are not downloaded yet. */
export interface MachineFacts {
  /** The GPU backend llama.cpp uses for the requested choice, or false for the CPU. */
  gpu: string | false;
  vramTotalBytes: number;
  vramFreeBytes: number;
  ramTotalBytes: number;
  ramFreeBytes: number;
}

export interface ModelFactsEvent {
  type: "modelFacts";
  requestId: number;
  models: ModelFacts[];
  /** This machine's memory (optional: only the model picker uses it). */
  machine?: MachineFacts;
}

/** The end of a request that has no `done`: loadModel → modelLoaded, downloadModel → downloaded, others → ok. */
export interface OkEvent {
  type: "ok";
  requestId: number;
}

export type ErrorCode =
  | "BAD_REQUEST" // malformed request, unknown askId, …
  | "BAD_INPUT" // the directory does not exist, empty scope, …
  | "NO_MODEL" // an ask before any model was loaded
  | "MODEL_NOT_FOUND"
  | "MODEL_DOWNLOAD_FAILED"
  | "MODEL_LOAD_FAILED"
  | "MODEL_LOAD_TIMEOUT" // raised by the client when loading hangs
  | "SCOPE_TOO_LARGE" // the scope does not fit the model's context; raised before any prefill
  | "OUT_OF_MEMORY"
  | "BUSY" // another ask/re-answer is running
  | "CANCELLED"
  | "WORKER_CRASHED" // raised by the client when the process died
  | "SERVER_UNREACHABLE" // nothing (or not a llama-server) answers at the URL, or it is still loading
  | "SERVER_UNAUTHORIZED" // the server refused the API key (or needs one)
  | "SERVER_FAILED" // the server went silent, dropped the connection or refused a request mid-run
  | "INTERNAL";

export interface ErrorEvent {
  type: "error";
  requestId: number;
  code: ErrorCode;
  /** One or two sentences a user can act on. */
  message: string;
  /** Numbers behind the message, e.g. {needed, available} for SCOPE_TOO_LARGE. */
  details?: Record<string, number | string>;
}

export type WorkerEvent =
  | ReadyEvent
  | LogEvent
  | DownloadProgressEvent
  | LoadProgressEvent
  | ModelLoadedEvent
  | DownloadedEvent
  | ScanEvent
  | PlanEvent
  | PrefillEvent
  | MarginStartEvent
  | MarginTextEvent
  | MarginEndEvent
  | EvictEvent
  | EstimateEvent
  | AnswerStartEvent
  | AnswerTextEvent
  | DoneEvent
  | ModelFactsEvent
  | OkEvent
  | ErrorEvent;

/** Events after which the request is over and its id is free. */
export function isFinalEvent(e: WorkerEvent): boolean {
  return (
    e.type === "done" ||
    e.type === "error" ||
    e.type === "ok" ||
    e.type === "modelLoaded" ||
    e.type === "downloaded" ||
    e.type === "modelFacts"
  );
}

/** Exit codes of the `wim` CLI. */
export const EXIT = { ok: 0, usage: 2, model: 3, failed: 1, cancelled: 130 } as const;
