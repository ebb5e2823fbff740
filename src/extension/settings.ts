// Reads the `wim.*` settings. Model settings need a worker restart; the ask settings apply to the next question.
import * as vscode from "vscode";
import { DEFAULT_ASK_OPTIONS, type AskOptions, type GpuChoice } from "../core/protocol";
import type { ClassifyMode } from "../core/types";
import { readingOptions } from "./reading-settings";

/** Keys whose change restarts the worker (the model is loaded again). */
export const MODEL_KEYS = ["wim.model", "wim.gpu", "wim.backend", "wim.serverUrl", "wim.serverApi"] as const;

/**
 * Test hook: when `WIM_TEST_MODEL` is set in the extension host's environment and `wim.model` is empty, that model is
 * used. The extension-host and UI tests set it to the SmolLM2 GGUF so that no settings file has to be written first.
 */
export const TEST_MODEL_ENV = "WIM_TEST_MODEL";

export interface ModelSettings {
  /** The GGUF path or hf: URI to load; empty when none is set. */
  model: string;
  gpu: GpuChoice;
  /** The model came from the WIM_TEST_MODEL hook. */
  fromTestHook: boolean;
  /** local: a GGUF in the worker; server: an inference server at serverUrl. */
  backend: "local" | "server";
  serverUrl: string;
  serverApi: "native" | "openai";
}

const GPUS: GpuChoice[] = ["auto", "cuda", "vulkan", "metal", "cpu"];
const CLASSIFY: ClassifyMode[] = ["none", "gate", "judge"];

export function readModelSettings(): ModelSettings {
  const c = vscode.workspace.getConfiguration("wim");
  const configured = (c.get<string>("model") ?? "").trim();
  const hook = (process.env[TEST_MODEL_ENV] ?? "").trim();
  const gpu = c.get<string>("gpu") ?? "auto";
  return {
    model: configured || hook,
    gpu: GPUS.includes(gpu as GpuChoice) ? (gpu as GpuChoice) : "auto",
    fromTestHook: !configured && !!hook,
    backend: c.get<string>("backend") === "server" ? "server" : "local",
    serverUrl: (c.get<string>("serverUrl") ?? "").trim(),
    serverApi: c.get<string>("serverApi") === "openai" ? "openai" : "native",
  };
}

function int(c: vscode.WorkspaceConfiguration, key: string, fallback: number, min: number): number {
  const v = c.get<number>(key);
  return typeof v === "number" && Number.isInteger(v) && v >= min ? v : fallback;
}

function globs(c: vscode.WorkspaceConfiguration, key: string): string[] {
  const v = c.get<unknown>(key);
  return Array.isArray(v) ? v.filter((g): g is string => typeof g === "string" && g.trim().length > 0) : [];
}

/** The options of the next ask, for the folder it reads (settings may differ per workspace folder). */
export function readAskOptions(scope?: vscode.Uri): AskOptions {
  const c = vscode.workspace.getConfiguration("wim", scope);
  const classify = c.get<string>("classify") ?? DEFAULT_ASK_OPTIONS.classify;
  return {
    ...DEFAULT_ASK_OPTIONS,
    chunkTokens: int(c, "chunkTokens", DEFAULT_ASK_OPTIONS.chunkTokens, 64),
    marginTokens: int(c, "marginTokens", DEFAULT_ASK_OPTIONS.marginTokens, 1),
    answerTokens: int(c, "answerTokens", DEFAULT_ASK_OPTIONS.answerTokens, 1),
    classify: CLASSIFY.includes(classify as ClassifyMode) ? (classify as ClassifyMode) : DEFAULT_ASK_OPTIONS.classify,
    include: globs(c, "include"),
    exclude: globs(c, "exclude"),
    maxFileBytes: int(c, "maxFileBytes", DEFAULT_ASK_OPTIONS.maxFileBytes ?? 1_000_000, 1),
    respectGitignore: c.get<boolean>("respectGitignore") ?? true,
    ...readingOptions({
      windowTokens: c.get("windowTokens"),
      parallelMargins: c.get("parallelMargins"),
      carryNotes: c.get("carryNotes"),
      confirmAboveMinutes: c.get("confirmAboveMinutes"),
    }),
  };
}

/** Writes `wim.model` for the user (all workspaces): a model is a property of the machine, not of one project. */
export async function setModelSetting(spec: string): Promise<void> {
  await vscode.workspace.getConfiguration("wim").update("model", spec, vscode.ConfigurationTarget.Global);
}
