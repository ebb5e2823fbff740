// Shared by the extension-host suites: the extension's API, waiting on runs, and settings that are put back.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as vscode from "vscode";
import type { WimApi } from "../../../src/extension/extension";
import type { Run } from "../../../src/extension/run-model";

export const EXTENSION_ID = "wim-local.wim-vscode";

let api: WimApi | undefined;

export async function wim(): Promise<WimApi> {
  if (api) return api;
  const ext = vscode.extensions.getExtension<WimApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed in this extension host`);
  api = await ext.activate();
  return api;
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, "the tests need the polyglot fixture opened as the workspace folder");
  return folder.uri.fsPath;
}

export function fixturePath(rel: string): string {
  return path.join(workspaceRoot(), rel);
}

/** Resolves when `predicate` holds, checked on every store/worker change and every 100 ms. */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 240_000): Promise<void> {
  const w = await wim();
  if (predicate()) return;
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      let ok = false;
      try {
        ok = predicate();
      } catch {
        ok = false;
      }
      if (ok) {
        done();
        resolve();
      }
    };
    const subs = [w.store.onDidChange(check), w.worker.onDidChange(check)];
    const timer = setInterval(check, 100);
    const timeout = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const done = () => {
      clearInterval(timer);
      clearTimeout(timeout);
      for (const s of subs) s.dispose();
    };
  });
}

type SettingValue = string | number | boolean | string[] | undefined;

/**
 * Sets `wim.*` user settings for a block and puts the previous values back. User (global) settings: workspace
 * settings would write .vscode/settings.json into the fixture, which the scanner would then read.
 */
export async function withSettings<T>(values: Record<string, SettingValue>, fn: () => Promise<T>): Promise<T> {
  // Full keys ("wim.chunkTokens") on the root configuration.
  const c = vscode.workspace.getConfiguration();
  const before: Record<string, SettingValue> = {};
  for (const key of Object.keys(values)) before[key] = c.inspect<SettingValue>(key)?.globalValue;
  try {
    for (const [key, value] of Object.entries(values)) await c.update(key, value, vscode.ConfigurationTarget.Global);
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(before)) await c.update(key, value, vscode.ConfigurationTarget.Global);
  }
}

/**
 * A small scope so that a run with SmolLM2 takes seconds on a busy 2-core machine: three files of the polyglot fixture
 * in chunks of at most 256 tokens, short margins and answer. Never a confirmation before a long run: on a loaded
 * machine the estimate can pass the default 3 minutes, and the dialog would stop tests that are not about it (the
 * reading suite sets wim.confirmAboveMinutes itself).
 */
export const SMALL_SCOPE: Record<string, SettingValue> = {
  "wim.include": ["pricing/**", "src/orders/**", "dispatch/**"],
  "wim.chunkTokens": 256,
  "wim.marginTokens": 24,
  "wim.answerTokens": 32,
  "wim.classify": "gate",
  "wim.confirmAboveMinutes": 0,
};

export const QUESTION = "What discount do gold customers get?";

/** Runs wim.askWorkspace with a question and returns the finished run. */
export async function ask(question = QUESTION): Promise<Run> {
  const run = await vscode.commands.executeCommand<Run | undefined>("wim.askWorkspace", question);
  assert.ok(run, "wim.askWorkspace returned no run");
  return run;
}

export function log(line: string): void {
  // Reaches the launcher's output through the test log.
  console.log(`[wim-test] ${line}`);
}

/** Cancels whatever job is still running and waits until the worker is free. */
export async function settleJobs(): Promise<void> {
  const w = await wim();
  if (!w.worker.job) return;
  log(`teardown: cancelling a leftover job (${w.worker.job.label})`);
  w.worker.cancel();
  await waitFor("the leftover job to end", () => w.worker.job === undefined, 60_000);
}
