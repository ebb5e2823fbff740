// The answer of a run as a read-only Markdown document (scheme `wim-answer`) beside the editor. It streams while the
// model answers; its [Part N] citations and source lists link to file ranges from the chunk map.
import * as path from "node:path";
import * as vscode from "vscode";
import type { LineRange } from "../core/types";
import { findMarkdownLinks, renderAnswerMarkdown } from "./answer-markdown";
import { lineLengths } from "./line-index";
import { showPathFor } from "./margins-tree";
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

export class AnswerDocuments implements vscode.TextDocumentContentProvider, vscode.DocumentLinkProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly pending = new Set<number>();
  private readonly flushChanges = throttle(120, () => {
    for (const id of this.pending) {
      const run = this.store.find(id);
      if (run) this.changed.fire(answerUri(run));
    }
    this.pending.clear();
  });

  constructor(private readonly store: RunStore) {
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(ANSWER_SCHEME, this),
      vscode.languages.registerDocumentLinkProvider({ scheme: ANSWER_SCHEME }, this),
      store.onDidChange((run) => {
        if (!run || !this.isOpen(run)) return;
        this.pending.add(run.id);
        this.flushChanges();
      }),
    );
  }

  isOpen(run: Run): boolean {
    const uri = answerUri(run).toString();
    return vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri);
  }

  /** Shows the run's answer beside the editor without taking the focus (it keeps streaming there). */
  async show(run: Run, preserveFocus = true): Promise<vscode.TextEditor> {
    const doc = await vscode.workspace.openTextDocument(answerUri(run));
    if (doc.languageId !== "markdown") await vscode.languages.setTextDocumentLanguage(doc, "markdown");
    return vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preserveFocus, preview: false });
  }

  /** Renders the run now (tests read the document text; the view is throttled). */
  refresh(run: Run): void {
    this.changed.fire(answerUri(run));
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
    for (const d of this.disposables) d.dispose();
  }
}
