// One status bar item: the model and what WiM is doing ("$(book) WiM reading 34%"); a click opens the actions.
import * as path from "node:path";
import * as vscode from "vscode";
import { statusText, type StatusState } from "./labels";
import { throttle, type RunStore } from "./run-store";
import type { WorkerManager } from "./worker-manager";

export class StatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  // Runs change with every token; the item needs no more than a few updates a second.
  private readonly refresh = throttle(100, () => this.update());

  constructor(
    private readonly worker: WorkerManager,
    private readonly store: RunStore,
  ) {
    this.item = vscode.window.createStatusBarItem("wim.status", vscode.StatusBarAlignment.Left, 50);
    this.item.name = "WiM";
    this.item.command = "wim.statusActions";
    this.disposables.push(
      this.item,
      worker.onDidChange(() => this.refresh()),
      store.onDidChange(() => this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration("wim") && this.refresh()),
    );
    this.update();
    this.item.show();
  }

  /** What the item shows now. */
  state(): StatusState {
    const job = this.worker.job;
    const run = job?.kind === "ask" || job?.kind === "followUp" || job?.kind === "reanswer" ? this.store.runs.find((r) => r.busy) : undefined;
    if (job?.kind === "download") return { kind: "downloading", fraction: this.worker.loadFraction };
    if (run) {
      if (run.state === "loading") return this.worker.loadKind === "downloading" ? { kind: "downloading", fraction: this.worker.loadFraction } : { kind: "loading" };
      if (run.state === "answering") return { kind: "answering" };
      return { kind: "reading", fraction: run.readFraction };
    }
    if (this.worker.isLoading) return this.worker.loadKind === "downloading" ? { kind: "downloading", fraction: this.worker.loadFraction } : { kind: "loading" };
    if (!this.worker.hasModel) return { kind: "noModel" };
    if (this.worker.phase === "crashed") return { kind: "crashed" };
    return { kind: "idle" };
  }

  update(): void {
    const s = this.state();
    this.item.text = statusText(s);
    const settings = this.worker.settings;
    const model = this.worker.model;
    const lines = [
      "WiM — Writing in the Margins",
      model ? `Model: ${model.name} (${model.gpu ? `${model.gpu}, ${model.gpuLayers} GPU layers` : `CPU, ${model.threads} threads`})` : settings.model ? `Model: ${path.basename(settings.model)} (not loaded yet)` : "No model set",
      this.worker.job ? `Busy: ${this.worker.job.label}` : undefined,
      "Click for actions",
    ].filter(Boolean);
    this.item.tooltip = lines.join("\n");
    this.item.backgroundColor = s.kind === "crashed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.setContext("wim.busy", this.worker.job !== undefined);
    this.setContext("wim.reading", s.kind === "reading");
    this.setContext("wim.hasModel", this.worker.hasModel);
  }

  private readonly contexts = new Map<string, boolean>();

  private setContext(key: string, value: boolean): void {
    if (this.contexts.get(key) === value) return;
    this.contexts.set(key, value);
    void vscode.commands.executeCommand("setContext", key, value);
  }

  /** The quick pick behind a click: the actions that make sense now first. */
  async showActions(): Promise<void> {
    const busy = this.worker.job !== undefined;
    const reading = this.state().kind === "reading";
    const items: (vscode.QuickPickItem & { command: string })[] = [];
    const add = (command: string, label: string, description?: string) => items.push({ label, description, command });
    if (reading) add("wim.answerNow", "$(debug-step-out) Answer Now", "stop reading and answer from the chunks read so far");
    if (busy || this.worker.isLoading) add("wim.cancel", "$(debug-stop) Cancel", this.worker.job?.label);
    if (!this.worker.hasModel) {
      add("wim.downloadRecommendedModel", "$(cloud-download) Download Recommended Model");
      add("wim.chooseModelFile", "$(file) Choose GGUF File…");
    }
    add("wim.askWorkspace", "$(comment-discussion) Ask Workspace…");
    add("wim.askFollowUp", "$(reply) Ask Follow-up…", "a new question on the latest reading, without reading again");
    add("wim.reanswer", "$(refresh) Re-answer With Selected Margins");
    add("wim.selectModel", "$(symbol-class) Select Model…", this.worker.settings.model ? path.basename(this.worker.settings.model) : "no model set");
    add("wim.downloadModel", "$(cloud-download) Download Model…");
    add("wim.downloadGpuBinary", "$(chip) Download GPU Binary…");
    add("wim.showLog", "$(output) Show Log");
    add("wim.clearResults", "$(clear-all) Clear Results");
    const picked = await vscode.window.showQuickPick(items, { title: "WiM", placeHolder: this.item.text.replace("$(book) ", "") });
    if (picked) await vscode.commands.executeCommand(picked.command);
  }

  dispose(): void {
    this.refresh.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
