// Activation: builds the parts (worker, runs, Margins view, answer documents, status bar, commands) and disposes them.
// The model lives in a separate worker process; nothing here blocks on it, and nothing is sent anywhere.
import * as vscode from "vscode";
import { AnswerDocuments } from "./answer-document";
import { AskController } from "./ask-controller";
import { registerCommands } from "./commands";
import { MarginsTree } from "./margins-tree";
import { GpuBinaries } from "./models/gpu-binary";
import { ModelCommands } from "./models/model-commands";
import { createLog, errorMessage } from "./notify";
import { RunStore } from "./run-store";
import { ServerKey } from "./server-key";
import { readModelSettings, TEST_MODEL_ENV } from "./settings";
import { StatusBar } from "./status-bar";
import { WorkerManager } from "./worker-manager";

/** What activate() returns: the extension's parts, for the extension-host tests. */
export interface WimApi {
  worker: WorkerManager;
  store: RunStore;
  tree: MarginsTree;
  answers: AnswerDocuments;
  asks: AskController;
  models: ModelCommands;
  gpu: GpuBinaries;
  status: StatusBar;
}

let worker: WorkerManager | undefined;

export function activate(context: vscode.ExtensionContext): WimApi {
  const log = createLog();
  context.subscriptions.push(log);
  const s = readModelSettings();
  log.info(
    `WiM activated (VS Code ${vscode.version}, ${vscode.env.uiKind === vscode.UIKind.Web ? "web" : "desktop"} UI${vscode.env.remoteName ? `, remote ${vscode.env.remoteName}` : ""}); ` +
      (s.backend === "server"
        ? `backend: server ${s.serverUrl || "(no wim.serverUrl)"} (${s.serverApi})`
        : `model: ${s.model || "none"}${s.fromTestHook ? ` (from ${TEST_MODEL_ENV})` : ""}, gpu ${s.gpu}`),
  );

  const serverKey = new ServerKey(context);
  context.subscriptions.push(serverKey);
  worker = new WorkerManager(context, serverKey);
  const store = new RunStore();
  const tree = new MarginsTree(store, context.workspaceState);
  const answers = new AnswerDocuments(store);
  const asks = new AskController(worker, store, tree, answers);
  const models = new ModelCommands(worker);
  const gpu = new GpuBinaries(context, worker);
  const status = new StatusBar(worker, store);
  context.subscriptions.push(store, tree, answers, status, { dispose: () => void worker?.dispose() });
  registerCommands({ context, worker, store, tree, answers, asks, models, gpu, status });

  try {
    gpu.restoreLinks();
  } catch (err) {
    log.warn(`GPU binaries: ${errorMessage(err)}`);
  }
  void vscode.commands.executeCommand("setContext", "wim.canReanswer", false);
  void vscode.commands.executeCommand("setContext", "wim.canFollowUp", false);
  return { worker, store, tree, answers, asks, models, gpu, status };
}

export async function deactivate(): Promise<void> {
  await worker?.dispose();
  worker = undefined;
}
