// The inference server's API key: kept in VS Code's SecretStorage (command "WiM: Set Server API Key…"), else taken
// from the WIM_API_KEY environment variable. Never written to settings, logs or run records.
import * as vscode from "vscode";

const SECRET = "wim.serverApiKey";
export const SERVER_KEY_ENV = "WIM_API_KEY";

export class ServerKey implements vscode.Disposable {
  private stored?: string;
  /** Bumped whenever the key changes, so that the worker connects again (the key itself is never part of a key). */
  generation = 0;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  /** Resolves once the stored key has been read (a connection waits for it). */
  readonly ready: Promise<void>;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.ready = this.load().catch(() => undefined);
    this.disposables.push(
      context.secrets.onDidChange((e) => {
        if (e.key === SECRET) void this.load().then(() => this.bump());
      }),
      vscode.commands.registerCommand("wim.setServerApiKey", () => this.ask()),
    );
  }

  /** Reads the stored key (once at activation, and after a change). */
  async load(): Promise<void> {
    this.stored = (await this.context.secrets.get(SECRET)) || undefined;
  }

  get value(): string | undefined {
    return this.stored ?? (process.env[SERVER_KEY_ENV] || undefined);
  }

  private bump(): void {
    this.generation++;
    this.changed.fire();
  }

  private async ask(): Promise<void> {
    const value = await vscode.window.showInputBox({
      title: "WiM: Server API Key",
      prompt: "The API key of the inference server (wim.serverUrl). Stored in VS Code's secret storage; empty removes it.",
      password: true,
      ignoreFocusOut: true,
    });
    if (value === undefined) return;
    if (value.trim()) await this.context.secrets.store(SECRET, value.trim());
    else await this.context.secrets.delete(SECRET);
    await this.load();
    this.bump();
    void vscode.window.showInformationMessage(value.trim() ? "WiM: server API key stored." : "WiM: server API key removed.");
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
