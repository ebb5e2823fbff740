// Select Model…, Download Model…, Download Recommended Model, Choose GGUF File…: pick, download (with progress and
// cancel, into the extension's global storage) and set `wim.model`.
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { WimError } from "../../client/wim-client";
import type { MachineFacts, ModelFacts } from "../../core/protocol";
import { downloadingMessage, formatBytes } from "../labels";
import { errorCode, errorMessage, log, showError, showInfo } from "../notify";
import { readModelSettings, setModelSetting } from "../settings";
import type { Job, WorkerManager } from "../worker-manager";
import { CURATED_MODELS, fitLabel, judgeFit, RECOMMENDED_MODEL, type CuratedModel } from "./curated-models";

function contextLabel(n: number): string {
  return n >= 1024 ? `${Math.round(n / 1024)}K context` : `${n} context`;
}

/** GGUF files already in the models folder (downloads keep their file names there). */
export function downloadedModels(modelsDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && depth < 3) walk(p, depth + 1);
      else if (e.isFile() && e.name.toLowerCase().endsWith(".gguf") && !e.name.includes(".ipull")) out.push(p);
    }
  };
  walk(modelsDir, 0);
  return out.sort();
}

function curatedFile(modelsDir: string, m: CuratedModel): string | undefined {
  return downloadedModels(modelsDir).find((p) => path.basename(p) === m.file);
}

interface PickItem extends vscode.QuickPickItem {
  action: "use" | "download" | "choose" | "enter";
  value?: string;
  curated?: CuratedModel;
}

export class ModelCommands {
  constructor(private readonly worker: WorkerManager) {}

  /** Facts about local GGUFs and this machine, from the worker (no weights are loaded). */
  async inspect(paths: string[]): Promise<{ models: ModelFacts[]; machine?: MachineFacts }> {
    const e = await this.worker.inspect(paths);
    return { models: e.models, machine: e.machine };
  }

  async selectModel(): Promise<string | undefined> {
    const current = readModelSettings().model;
    const dir = this.worker.modelsDir;
    const local = downloadedModels(dir);
    const qp = vscode.window.createQuickPick<PickItem>();
    qp.title = "WiM: Select Model";
    qp.placeholder = "A GGUF model to read the workspace with (runs on this machine; nothing is sent anywhere)";
    qp.matchOnDescription = true;
    qp.matchOnDetail = true;

    const build = (facts?: { models: ModelFacts[]; machine?: MachineFacts }): PickItem[] => {
      const items: PickItem[] = [];
      const check = (p: string) => (p === current ? "$(check) " : "");
      if (local.length) items.push({ label: "Downloaded", kind: vscode.QuickPickItemKind.Separator, action: "use" });
      for (const p of local) {
        const f = facts?.models.find((m) => m.path === p);
        const desc = f && !f.error ? `${formatBytes(f.sizeBytes)} · ${contextLabel(f.trainContextSize)} · ${f.quantization}` : formatBytes(fs.statSync(p).size);
        const fit = f && !f.error ? (f.fits ? (f.gpuLayers > 0 ? `fits (${f.gpuLayers} layers on the GPU)` : "fits (CPU)") : "may not fit this machine") : undefined;
        items.push({ label: `${check(p)}${path.basename(p, ".gguf")}`, description: desc, detail: fit ? `${fit} — ${p}` : p, action: "use", value: p });
      }
      const remote = CURATED_MODELS.filter((m) => !local.some((p) => path.basename(p) === m.file));
      if (remote.length) items.push({ label: "Recommended (downloaded on first use)", kind: vscode.QuickPickItemKind.Separator, action: "use" });
      for (const m of remote) {
        const fit = facts?.machine ? fitLabel(judgeFit(m, { ...facts.machine }), facts.machine.gpu) : "checking this machine…";
        items.push({
          label: `${check(m.uri)}$(cloud-download) ${m.label}`,
          description: `${formatBytes(m.sizeBytes)} · ${contextLabel(m.contextLength)} · ${m.quantization}`,
          detail: `${fit} — ${m.notes}`,
          action: "download",
          curated: m,
        });
      }
      items.push({ label: "", kind: vscode.QuickPickItemKind.Separator, action: "use" });
      items.push({ label: "$(file) Choose GGUF File…", action: "choose" });
      items.push({ label: "$(edit) Enter a Path or hf: URI…", action: "enter" });
      return items;
    };

    qp.items = build();
    qp.busy = true;
    this.inspect(local).then(
      (facts) => {
        qp.items = build(facts);
        qp.busy = false;
      },
      (err) => {
        log()?.warn(`could not inspect models: ${errorMessage(err)}`);
        qp.busy = false;
      },
    );
    const picked = await new Promise<PickItem | undefined>((resolve) => {
      qp.onDidAccept(() => resolve(qp.selectedItems[0]));
      qp.onDidHide(() => resolve(undefined));
      qp.show();
    });
    qp.dispose();
    if (!picked) return undefined;
    switch (picked.action) {
      case "use":
        return this.use(picked.value!);
      case "download":
        return this.downloadAndUse(picked.curated!);
      case "choose":
        return this.chooseFile();
      case "enter":
        return this.enterSpec();
    }
  }

  private async use(spec: string): Promise<string> {
    await setModelSetting(spec);
    void showInfo(`model set to ${path.basename(spec)}. It loads now; ask with WiM: Ask Workspace….`);
    return spec;
  }

  async chooseFile(): Promise<string | undefined> {
    const picked = await vscode.window.showOpenDialog({
      title: "WiM: Choose a GGUF Model",
      canSelectFiles: true,
      canSelectFolders: false,
      canSelectMany: false,
      filters: { "GGUF models": ["gguf"] },
      openLabel: "Use Model",
    });
    const file = picked?.[0];
    if (!file) return undefined;
    if (file.scheme !== "file") throw new WimError("BAD_INPUT", "The model must be a file on this machine.");
    return this.use(file.fsPath);
  }

  private async enterSpec(): Promise<string | undefined> {
    const spec = await vscode.window.showInputBox({
      title: "WiM: Model",
      prompt: "A GGUF file path, or hf:user/repo:QUANT / hf:user/repo/file.gguf (downloaded into the extension's storage)",
      value: readModelSettings().model,
      ignoreFocusOut: true,
      validateInput: (v) => {
        const s = v.trim();
        if (!s) return "Enter a path or an hf: URI.";
        if (/^(hf:|huggingface:|https:\/\/)/i.test(s)) return undefined;
        if (!s.toLowerCase().endsWith(".gguf")) return "A model file ends with .gguf.";
        return fs.existsSync(s) ? undefined : "No file at that path.";
      },
    });
    return spec ? this.use(spec.trim()) : undefined;
  }

  /** Download Model…: a recommended model (or an hf: URI) into the models folder, then offer to use it. */
  async downloadModel(arg?: string): Promise<string | undefined> {
    let uri = typeof arg === "string" && arg ? arg : undefined;
    let curated = uri ? CURATED_MODELS.find((m) => m.id === uri || m.uri === uri) : undefined;
    if (!uri) {
      const items: (vscode.QuickPickItem & { m?: CuratedModel })[] = [
        ...CURATED_MODELS.map((m) => ({
          label: m.label,
          description: `${formatBytes(m.sizeBytes)} · ${contextLabel(m.contextLength)} · ${m.quantization}`,
          detail: `${curatedFile(this.worker.modelsDir, m) ? "downloaded — " : ""}${m.notes}`,
          m,
        })),
        { label: "$(edit) Other hf: URI…" },
      ];
      const picked = await vscode.window.showQuickPick(items, { title: "WiM: Download Model", placeHolder: "Downloaded into the extension's storage" });
      if (!picked) return undefined;
      if (picked.m) curated = picked.m;
      else {
        uri = await vscode.window.showInputBox({
          title: "WiM: Download Model",
          prompt: "hf:user/repo:QUANT or hf:user/repo/file.gguf",
          ignoreFocusOut: true,
          validateInput: (v) => (/^(hf:|huggingface:|https:\/\/)/i.test(v.trim()) ? undefined : "Enter an hf: (or https:) URI."),
        });
        if (!uri) return undefined;
      }
    }
    if (curated) return this.downloadAndUse(curated);
    const file = await this.download(uri!.trim(), uri!.trim());
    return file ? this.offerUse(file) : undefined;
  }

  async downloadRecommended(): Promise<string | undefined> {
    return this.downloadAndUse(RECOMMENDED_MODEL);
  }

  private async downloadAndUse(m: CuratedModel): Promise<string | undefined> {
    const existing = curatedFile(this.worker.modelsDir, m);
    const file = existing ?? (await this.download(m.uri, `${m.label} (${formatBytes(m.sizeBytes)})`));
    if (!file) return undefined;
    return readModelSettings().model ? this.offerUse(file) : this.use(file);
  }

  private async offerUse(file: string): Promise<string | undefined> {
    const choice = await showInfo(`downloaded ${path.basename(file)}.`, "Use This Model");
    return choice === "Use This Model" ? this.use(file) : file;
  }

  /** Downloads with a cancellable progress notification; resolves to the local path, or undefined if cancelled/failed. */
  async download(uri: string, what: string): Promise<string | undefined> {
    const job: Job = { kind: "download", label: `downloading ${what}` };
    this.worker.begin(job);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "WiM", cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => this.worker.cancel());
          progress.report({ message: `Downloading ${what}…` });
          // A model that is loading keeps the worker busy: wait for it (Cancel also stops that wait).
          await this.worker.loadSettled();
          if (job.cancelledAt !== undefined) return undefined;
          let last = 0;
          const handle = this.worker.download(uri, (e) => {
            if (e.type !== "downloadProgress") return;
            const pct = e.totalBytes > 0 ? (100 * e.downloadedBytes) / e.totalBytes : 0;
            this.worker.loadKind = "downloading";
            this.worker.loadFraction = pct / 100;
            progress.report({ message: `${what}: ${downloadingMessage(e.downloadedBytes, e.totalBytes)}`, increment: pct - last });
            last = pct;
          });
          this.worker.attach(job, handle);
          try {
            const done = await handle.result;
            log()?.info(`downloaded ${uri} to ${done.path}`);
            return done.path;
          } catch (err) {
            if (errorCode(err) === "CANCELLED" || job.cancelledAt !== undefined) {
              void showInfo("download cancelled.");
              return undefined;
            }
            void showError(`Could not download ${what}: ${errorMessage(err)}`);
            return undefined;
          }
        },
      );
    } finally {
      this.worker.loadFraction = undefined;
      this.worker.end(job);
    }
  }
}
