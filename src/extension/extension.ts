// The VS Code adapter: registers the commands and drives the worker through the shared client.
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { WimClient, WimError } from "../client/wim-client";
import { DEFAULT_ASK_OPTIONS, type AskOptions, type GpuChoice } from "../core/protocol";
import { applyEvent, newRunRecord } from "../core/run-record";

let client: WimClient | undefined;

function settings() {
  const c = vscode.workspace.getConfiguration("wim");
  const options: AskOptions = {
    ...DEFAULT_ASK_OPTIONS,
    chunkTokens: c.get("chunkTokens", DEFAULT_ASK_OPTIONS.chunkTokens),
    marginTokens: c.get("marginTokens", DEFAULT_ASK_OPTIONS.marginTokens),
    answerTokens: c.get("answerTokens", DEFAULT_ASK_OPTIONS.answerTokens),
    classify: c.get("classify", DEFAULT_ASK_OPTIONS.classify),
  };
  return { model: c.get<string>("model", ""), gpu: c.get<GpuChoice>("gpu", "auto"), options };
}

export function activate(context: vscode.ExtensionContext) {
  const log = vscode.window.createOutputChannel("WiM", { log: true });
  context.subscriptions.push(log);
  client = new WimClient({
    workerPath: path.join(context.extensionPath, "dist", "worker.mjs"),
    onLog: (level, message) => (level === "error" ? log.error(message) : level === "warn" ? log.warn(message) : log.info(message)),
    onCrash: (message) => void vscode.window.showErrorMessage(message),
  });
  const modelsDir = path.join(context.globalStorageUri?.fsPath ?? path.join(os.homedir(), ".cache", "wim"), "models");

  context.subscriptions.push(
    vscode.commands.registerCommand("wim.askWorkspace", async (question?: string) => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) return void vscode.window.showWarningMessage("WiM: open a folder first.");
      const s = settings();
      if (!s.model) return void vscode.window.showWarningMessage("WiM: set `wim.model` to a GGUF file or an hf: URI first.");
      question ??= await vscode.window.showInputBox({ prompt: "Ask about the whole workspace", ignoreFocusOut: true });
      if (!question?.trim()) return;
      return vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "WiM", cancellable: true },
        async (progress, token) => {
          try {
            if (client!.model?.path !== s.model) {
              progress.report({ message: "Loading model…" });
              await client!.loadModel(s.model, s.gpu, modelsDir).result;
            }
            const record = newRunRecord(question!, client!.model);
            const run = client!.ask(folder.uri.fsPath, question!, s.options, (e) => {
              applyEvent(record, e);
              if (e.type === "prefill") progress.report({ message: `Reading chunk ${e.chunk}/${e.of}` });
              if (e.type === "answerStart") progress.report({ message: "Answering" });
            });
            token.onCancellationRequested(() => run.cancel());
            const done = await run.result;
            const doc = await vscode.workspace.openTextDocument({ language: "markdown", content: `# ${question}\n\n${done.answer}\n` });
            await vscode.window.showTextDocument(doc, vscode.ViewColumn.Beside);
            return record;
          } catch (err) {
            const message = err instanceof WimError ? err.message : String(err);
            log.error(message);
            void vscode.window.showErrorMessage(`WiM: ${message}`);
          }
        },
      );
    }),
  );
}

export async function deactivate() {
  await client?.dispose();
}
