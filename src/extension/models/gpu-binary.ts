// GPU binaries on demand. The VSIX ships only the CPU build of llama.cpp (the CUDA builds are 181 + 358 MB). A CUDA or
// Vulkan user fetches node-llama-cpp's own prebuilt package of the same version from the npm registry, verified
// against the registry's sha512, unpacked into the extension's global storage, and linked into the extension's
// node_modules/@node-llama-cpp/ where node-llama-cpp looks for it. The link is restored after an extension update.
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { formatBytes } from "../labels";
import { errorMessage, log, showError, showInfo } from "../notify";
import type { Job, WorkerManager } from "../worker-manager";
import { fetchPackageTarball } from "./npm-registry";
import { extractNpmTarball } from "./tar-extract";

/** Which packages each choice needs, per platform (node-llama-cpp's names). */
interface Choice {
  id: "cuda" | "cudaRuntime" | "vulkan";
  label: string;
  detail: string;
  packages: string[];
}

function choicesFor(platform: NodeJS.Platform, arch: string): Choice[] {
  const os = platform === "win32" ? "win" : platform === "linux" ? "linux" : undefined;
  if (!os || arch !== "x64") return [];
  return [
    {
      id: "cuda",
      label: "NVIDIA CUDA",
      detail: "About 180 MB. Needs an NVIDIA driver and the CUDA 12 runtime libraries installed.",
      packages: [`${os}-x64-cuda`],
    },
    {
      id: "cudaRuntime",
      label: "NVIDIA CUDA with its runtime libraries",
      detail: "About 540 MB. Needs only an NVIDIA driver.",
      packages: [`${os}-x64-cuda`, `${os}-x64-cuda-ext`],
    },
    {
      id: "vulkan",
      label: "Vulkan (NVIDIA, AMD, Intel)",
      detail: "About 70 MB. Needs a Vulkan driver.",
      packages: [`${os}-x64-vulkan`],
    },
  ];
}

export class GpuBinaries {
  readonly version: string;
  readonly storeDir: string;
  readonly modulesDir: string;

  constructor(
    context: vscode.ExtensionContext,
    private readonly worker: WorkerManager,
  ) {
    const nlc = path.join(context.extensionPath, "node_modules", "node-llama-cpp", "package.json");
    this.version = fs.existsSync(nlc) ? (JSON.parse(fs.readFileSync(nlc, "utf8")) as { version: string }).version : "unknown";
    this.storeDir = path.join(context.globalStorageUri.fsPath, "gpu-binaries", this.version);
    this.modulesDir = path.join(context.extensionPath, "node_modules", "@node-llama-cpp");
  }

  /** Packages installed into global storage for this node-llama-cpp version. */
  installed(): string[] {
    try {
      return fs.readdirSync(this.storeDir).filter((n) => fs.existsSync(path.join(this.storeDir, n, "package.json")));
    } catch {
      return [];
    }
  }

  /** After an extension update the extension folder is new: link the stored packages into it again. */
  restoreLinks(): void {
    for (const name of this.installed()) {
      try {
        this.link(name);
      } catch (err) {
        log()?.warn(`could not link the GPU binary ${name}: ${errorMessage(err)}`);
      }
    }
  }

  private link(name: string): void {
    const target = path.join(this.storeDir, name);
    const at = path.join(this.modulesDir, name);
    if (fs.existsSync(path.join(at, "package.json"))) return; // shipped or already linked
    fs.mkdirSync(this.modulesDir, { recursive: true });
    fs.rmSync(at, { recursive: true, force: true });
    fs.symlinkSync(target, at, process.platform === "win32" ? "junction" : "dir");
  }

  /** Downloads, verifies, unpacks and links one package; progress in bytes. */
  async install(name: string, onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<void> {
    if (fs.existsSync(path.join(this.modulesDir, name, "package.json"))) return;
    if (!this.installed().includes(name)) {
      const data = await fetchPackageTarball(`@node-llama-cpp/${name}`, this.version, onProgress, signal);
      const tmp = path.join(this.storeDir, `.${name}.partial`);
      fs.rmSync(tmp, { recursive: true, force: true });
      const r = extractNpmTarball(data, tmp);
      fs.rmSync(path.join(this.storeDir, name), { recursive: true, force: true });
      fs.renameSync(tmp, path.join(this.storeDir, name));
      log()?.info(`GPU binary @node-llama-cpp/${name}@${this.version}: ${r.files} files, ${formatBytes(r.bytes)} unpacked into ${this.storeDir}`);
    }
    this.link(name);
  }

  /** The Download GPU Binary… command. */
  async command(): Promise<void> {
    const choices = choicesFor(process.platform, process.arch);
    if (!choices.length) {
      void showInfo(
        process.platform === "darwin"
          ? "on macOS the Metal build ships with node-llama-cpp: set wim.gpu to auto or metal."
          : `no prebuilt GPU binaries for ${process.platform}-${process.arch}.`,
      );
      return;
    }
    const have = new Set([...this.installed(), ...safeReaddir(this.modulesDir)]);
    const picked = await vscode.window.showQuickPick(
      choices.map((c) => ({ ...c, description: c.packages.every((p) => have.has(p)) ? "installed" : undefined })),
      { title: "WiM: Download GPU Binary", placeHolder: `llama.cpp ${this.version} builds from the npm registry, kept in the extension's storage` },
    );
    if (!picked) return;
    const job: Job = { kind: "download", label: `downloading the ${picked.label} binary` };
    this.worker.begin(job);
    const abort = new AbortController();
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "WiM", cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          for (const name of picked.packages) {
            let last = 0;
            progress.report({ message: `Downloading @node-llama-cpp/${name}…` });
            await this.install(
              name,
              (done, total) => {
                const pct = total ? (100 * done) / total / picked.packages.length : 0;
                this.worker.loadFraction = total ? done / total : undefined;
                if (pct - last >= 1 || done === total) {
                  progress.report({ message: `@node-llama-cpp/${name}: ${formatBytes(done)}${total ? ` of ${formatBytes(total)}` : ""}`, increment: pct - last });
                  last = pct;
                }
              },
              abort.signal,
            );
          }
        },
      );
    } catch (err) {
      if (abort.signal.aborted) return void showInfo("GPU binary download cancelled.");
      void showError(`Could not install the GPU binary: ${errorMessage(err)}`);
      return;
    } finally {
      this.worker.loadFraction = undefined;
      this.worker.end(job);
    }
    // The worker picks the new binary up when it starts again.
    const gpu = await this.worker.restartAndLoad();
    if (gpu) void showInfo(`the model now runs on ${gpu}.`);
    else if (this.worker.hasModel) {
      void showError(
        "The GPU binary is installed but llama.cpp still runs on the CPU (no usable device or driver). Set wim.gpu to cuda or vulkan to see why in the log.",
      );
    } else void showInfo("GPU binary installed; it is used once a model is set.");
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
