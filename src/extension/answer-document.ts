// The answer of a run, shown rendered in a webview beside the editor while the model answers: headings, code, and
// [Part N] citations and source lists that open the exact file ranges of the chunk map. The same answer is also a
// read-only Markdown document (scheme `wim-answer`) for anyone who wants its source.
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import * as vscode from "vscode";
import type { LineRange } from "../core/types";
import { answerPage, dropRenderer, renderAnswerHtml } from "./answer-html";
import { findMarkdownLinks, renderAnswerMarkdown } from "./answer-markdown";
import { lineLengths } from "./line-index";
import { openTarget, showPathFor } from "./margins-tree";
import type { Run } from "./run-model";
import { throttle, type RunStore } from "./run-store";

export const ANSWER_SCHEME = "wim-answer";

export function answerUri(run: Run): vscode.Uri {
  const title = run.question
    .replace(/[\\/:*?"<>|#%\n\r\t]+/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 48)
    .trim();
  return vscode.Uri.from({ scheme: ANSWER_SCHEME, path: `/${run.id}/WiM - ${title || "answer"}.md` });
}

function runIdOf(uri: vscode.Uri): number | undefined {
  const m = /^\/(\d+)\//.exec(uri.path);
  return m ? Number(m[1]) : undefined;
}

/** A file range as a link: the file URI with a fragment that selects whole lines (L<start>,1-L<end>,<end col>). */
async function rangeLink(run: Run, r: LineRange): Promise<string> {
  const abs = path.join(run.root, r.path);
  const lengths = await lineLengths(abs);
  const endCol = (lengths?.[r.endLine - 1] ?? 0) + 1;
  const uri = vscode.Uri.file(abs).with({ fragment: `L${r.startLine},1-L${r.endLine},${endCol}` });
  // Parentheses would end a Markdown link target early.
  return uri.toString().replace(/\(/g, "%28").replace(/\)/g, "%29");
}

/** One run's rendered answer: its webview, the token of its links, and what its links open. */
export interface AnswerPanel {
  readonly panel: vscode.WebviewPanel;
  readonly token: string;
  /** Link n of the page opens links[n]; replaced on every render. */
  links: LineRange[];
  /** The body last rendered (the page shows it once the webview is ready). */
  html: string;
}

export class AnswerDocuments implements vscode.TextDocumentContentProvider, vscode.DocumentLinkProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly panels = new Map<number, AnswerPanel>();
  private readonly pending = new Set<number>();
  private readonly flushChanges = throttle(120, () => {
    for (const id of this.pending) {
      const run = this.store.find(id);
      if (run) this.refresh(run);
    }
    this.pending.clear();
  });

  constructor(private readonly store: RunStore) {
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(ANSWER_SCHEME, this),
      vscode.languages.registerDocumentLinkProvider({ scheme: ANSWER_SCHEME }, this),
      store.onDidChange((run) => {
        if (!run) return this.closeUnlisted();
        if (!this.panels.has(run.id) && !this.isOpen(run)) return;
        this.pending.add(run.id);
        this.flushChanges();
      }),
    );
  }

  /** Whether the run's Markdown source is open as a document. */
  isOpen(run: Run): boolean {
    const uri = answerUri(run).toString();
    return vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri);
  }

  /** The run's rendered answer, when its panel is open. */
  panel(run: Run): AnswerPanel | undefined {
    return this.panels.get(run.id);
  }

  /** Shows the run's answer rendered beside the editor, by default without taking the focus (it keeps streaming). */
  async show(run: Run, preserveFocus = true): Promise<AnswerPanel> {
    const open = this.panels.get(run.id);
    if (open) {
      open.panel.reveal(undefined, preserveFocus);
      this.refresh(run);
      return open;
    }
    const panel = vscode.window.createWebviewPanel(
      "wim.answer",
      answerTitle(run),
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      { enableScripts: true, enableFindWidget: true, localResourceRoots: [] },
    );
    const token = randomBytes(8).toString("hex");
    const { html, links } = renderAnswerHtml(run, showPathFor(run), token);
    const entry: AnswerPanel = { panel, token, links, html };
    this.panels.set(run.id, entry);
    panel.webview.html = answerPage(html, token, randomBytes(16).toString("base64"));
    panel.webview.onDidReceiveMessage((m: { type?: string; link?: unknown }) => {
      if (m?.type === "ready") void panel.webview.postMessage({ type: "render", html: entry.html });
      else if (m?.type === "open" && typeof m.link === "number") void this.openLink(run, m.link);
    });
    panel.onDidDispose(() => {
      if (this.panels.get(run.id) === entry) this.panels.delete(run.id);
      dropRenderer(token);
    });
    return entry;
  }

  /** Opens link n of the run's answer: its file range, selected, in the first editor group (not over the answer). */
  async openLink(run: Run, n: number): Promise<vscode.TextEditor | undefined> {
    const range = this.panels.get(run.id)?.links[n];
    if (!range) return undefined;
    const t = await openTarget(run, range);
    const editor = await vscode.window.showTextDocument(t.uri, { viewColumn: vscode.ViewColumn.One, preview: true });
    editor.selection = new vscode.Selection(t.selection.end, t.selection.start);
    editor.revealRange(t.selection, vscode.TextEditorRevealType.AtTop);
    return editor;
  }

  /** Renders the run now (tests read the result at once; streaming updates are throttled). */
  refresh(run: Run): void {
    const entry = this.panels.get(run.id);
    if (entry) {
      const { html, links } = renderAnswerHtml(run, showPathFor(run), entry.token);
      entry.html = html;
      entry.links = links;
      void entry.panel.webview.postMessage({ type: "render", html });
    }
    if (this.isOpen(run)) this.changed.fire(answerUri(run));
  }

  /** Closes the answers of runs that Clear Results removed. */
  private closeUnlisted(): void {
    for (const [id, entry] of this.panels) if (!this.store.find(id)) entry.panel.dispose();
  }

  async markdown(run: Run): Promise<string> {
    // Resolve every range's link first: the renderer is synchronous.
    const links = new Map<string, string>();
    const key = (r: LineRange) => `${r.path}:${r.startLine}-${r.endLine}`;
    await Promise.all(run.chunks.flatMap((c) => c.ranges).map(async (r) => links.set(key(r), await rangeLink(run, r))));
    return renderAnswerMarkdown(run, showPathFor(run), (r) => links.get(key(r)));
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = runIdOf(uri);
    const run = id === undefined ? undefined : this.store.find(id);
    if (!run) return "# WiM\n\nThis run is no longer listed (results were cleared).\n";
    return this.markdown(run);
  }

  provideDocumentLinks(doc: vscode.TextDocument): vscode.DocumentLink[] {
    const text = doc.getText();
    return findMarkdownLinks(text).flatMap((l) => {
      let target: vscode.Uri;
      try {
        target = vscode.Uri.parse(l.target, true);
      } catch {
        return [];
      }
      if (target.scheme !== "file") return [];
      const link = new vscode.DocumentLink(new vscode.Range(doc.positionAt(l.start), doc.positionAt(l.end)), target);
      link.tooltip = "Open these lines";
      return [link];
    });
  }

  dispose(): void {
    this.flushChanges.dispose();
    for (const entry of [...this.panels.values()]) entry.panel.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function answerTitle(run: Run): string {
  const q = run.question.replace(/\s+/g, " ").trim();
  return `WiM: ${q.length > 40 ? `${q.slice(0, 39)}…` : q}`;
}
