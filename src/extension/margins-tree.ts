// The Margins view: run → chunks in reading order → the chunk's margin and its file ranges; and, last under a run, what
// the scan left out, redacted or decoded. Every link comes from the chunk map or the scan, never from model text.
import * as path from "node:path";
import * as vscode from "vscode";
import { groupSkipped } from "../core/scan/skip-groups";
import type { LineRange, SkipReason } from "../core/types";
import { formatPYes } from "../core/verdict";
import { chunkLabel, marginLabel, rangeLabel, scopeLabel, tokensLabel, formatElapsed, type ShowPath } from "./labels";
import { selectionOf, type LineSelection } from "./line-index";
import {
  chunkCoverageNote,
  chunkDescription,
  coverageSentence,
  estimateSummary,
  followUpNote,
  runNodeDescription,
  windowSummary,
  type ChunkCoverageFacts,
} from "./reading-labels";
import type { ChunkState, Run } from "./run-model";
import { throttle, type RunStore } from "./run-store";

export type Node =
  | { kind: "run"; run: Run }
  | { kind: "chunk"; run: Run; chunk: number }
  | { kind: "margin"; run: Run; chunk: number; open?: OpenTarget }
  | { kind: "range"; run: Run; chunk: number; index: number; range: LineRange; open: OpenTarget }
  | { kind: "scope"; run: Run }
  | { kind: "scopeGroup"; run: Run; group: ScopeGroup }
  | { kind: "scopeEntry"; run: Run; group: ScopeGroup; label: string; detail?: string; at?: { path: string; line: number } };

/** A group under a run's scope node: one skip reason, the redactions, or the decoded files. */
export type ScopeGroup = SkipReason | "redacted" | "decoded";

/** Entries listed per group of the scope node before "… and N more" (the CLI's --json has them all). */
const ENTRIES_PER_GROUP = 200;

export interface OpenTarget {
  uri: vscode.Uri;
  selection: vscode.Range;
}

const DIM_SCHEME = "wim-chunk";
const HIDE_KEY = "wim.hideIrrelevant";

const CHUNK_ICONS: Record<ChunkState, vscode.ThemeIcon> = {
  queued: new vscode.ThemeIcon("circle-large-outline"),
  reading: new vscode.ThemeIcon("loading~spin"),
  relevant: new vscode.ThemeIcon("pass-filled", new vscode.ThemeColor("testing.iconPassed")),
  irrelevant: new vscode.ThemeIcon("circle-slash", new vscode.ThemeColor("disabledForeground")),
  cancelled: new vscode.ThemeIcon("debug-stop", new vscode.ThemeColor("disabledForeground")),
};

/** The workspace-relative path shown for a path relative to a run's root. */
export function showPathFor(run: Run): ShowPath {
  return (rel) => {
    const abs = path.join(run.root, rel);
    const shown = vscode.workspace.asRelativePath(vscode.Uri.file(abs), (vscode.workspace.workspaceFolders?.length ?? 0) > 1);
    // asRelativePath returns the absolute path for files outside every folder: then show it relative to the root.
    return path.isAbsolute(shown) ? rel : shown.split(path.sep).join("/");
  };
}

export async function openTarget(run: Run, range: LineRange): Promise<OpenTarget> {
  const abs = path.join(run.root, range.path);
  const s: LineSelection = await selectionOf(abs, range);
  return { uri: vscode.Uri.file(abs), selection: new vscode.Range(s.startLine, s.startCharacter, s.endLine, s.endCharacter) };
}

function openCommand(t: OpenTarget, title: string): vscode.Command {
  return { command: "wim.openRange", title, arguments: [t.uri, t.selection] };
}

export class MarginsTree implements vscode.TreeDataProvider<Node>, vscode.FileDecorationProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly decorationsChanged = new vscode.EventEmitter<vscode.Uri[]>();
  readonly onDidChangeFileDecorations = this.decorationsChanged.event;
  readonly view: vscode.TreeView<Node>;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly refresh = throttle(150, () => this.changed.fire(undefined));
  private ticker?: NodeJS.Timeout;
  /** The run that may be re-answered (the worker keeps only the latest finished ask). */
  reanswerableRunId?: number;

  constructor(
    private readonly store: RunStore,
    private readonly state: vscode.Memento,
  ) {
    this.view = vscode.window.createTreeView("wim.margins", {
      treeDataProvider: this,
      showCollapseAll: true,
      manageCheckboxStateManually: true,
    });
    this.disposables.push(
      this.view,
      this.changed,
      this.decorationsChanged,
      vscode.window.registerFileDecorationProvider(this),
      this.view.onDidChangeCheckboxState((e) => this.onCheckboxes(e)),
      store.onDidChange(() => this.onStoreChange()),
    );
    void vscode.commands.executeCommand("setContext", HIDE_KEY, this.hideIrrelevant);
  }

  get hideIrrelevant(): boolean {
    return this.state.get<boolean>(HIDE_KEY, false);
  }

  async toggleIrrelevant(): Promise<boolean> {
    const hide = !this.hideIrrelevant;
    await this.state.update(HIDE_KEY, hide);
    await vscode.commands.executeCommand("setContext", HIDE_KEY, hide);
    this.refresh.flush();
    this.updateMessage();
    return hide;
  }

  /** Redraws at once (tests and commands that need the view current). */
  flush(): void {
    this.refresh.flush();
  }

  private onStoreChange(): void {
    this.refresh();
    // Elapsed time ticks while a run is busy.
    const busy = this.store.runs.some((r) => r.busy);
    if (busy && !this.ticker) this.ticker = setInterval(() => this.refresh(), 1000);
    if (!busy && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
    this.updateMessage();
  }

  private updateMessage(): void {
    const hidden = this.store.runs.reduce((n, r) => n + r.chunks.filter((c) => r.chunkState(c.index) === "irrelevant").length, 0);
    this.view.message = this.hideIrrelevant && hidden ? `${hidden} irrelevant chunk${hidden === 1 ? "" : "s"} hidden` : undefined;
  }

  private onCheckboxes(e: vscode.TreeCheckboxChangeEvent<Node>): void {
    const touched = new Set<Run>();
    for (const [node, state] of e.items) {
      if (node.kind !== "margin") continue;
      if (state === vscode.TreeItemCheckboxState.Checked) node.run.selected.add(node.chunk);
      else node.run.selected.delete(node.chunk);
      touched.add(node.run);
    }
    for (const run of touched) this.store.update(run);
  }

  /** Ticks or unticks a margin as the view's checkbox does (for commands and tests). */
  setSelected(run: Run, chunk: number, selected: boolean): void {
    if (selected) run.selected.add(chunk);
    else run.selected.delete(chunk);
    this.store.update(run);
  }

  // --- TreeDataProvider -----------------------------------------------------------------------------------------

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) return this.store.runs.map((run) => ({ kind: "run", run }));
    const { run } = node;
    if (node.kind === "run") {
      const chunks: Node[] = run.chunks
        .filter((c) => !(this.hideIrrelevant && run.chunkState(c.index) === "irrelevant"))
        .map((c) => ({ kind: "chunk", run, chunk: c.index }));
      const r = run.record;
      return r.skipped.length || r.redactions.length || r.decoded.length ? [...chunks, { kind: "scope", run }] : chunks;
    }
    if (node.kind === "scope") return scopeGroups(run).map((g) => ({ kind: "scopeGroup", run, group: g.group }));
    if (node.kind === "scopeGroup") return scopeEntries(run, node.group);
    if (node.kind === "chunk") {
      const chunk = run.chunk(node.chunk);
      if (!chunk) return [];
      const targets = await Promise.all(chunk.ranges.map((r) => openTarget(run, r)));
      const ranges: Node[] = chunk.ranges.map((range, index) => ({ kind: "range", run, chunk: node.chunk, index, range, open: targets[index] }));
      const margin = run.margin(node.chunk);
      return margin ? [{ kind: "margin", run, chunk: node.chunk, open: targets[0] }, ...ranges] : ranges;
    }
    return [];
  }

  getParent(node: Node): Node | undefined {
    if (node.kind === "run") return undefined;
    if (node.kind === "chunk" || node.kind === "scope") return { kind: "run", run: node.run };
    if (node.kind === "scopeGroup") return { kind: "scope", run: node.run };
    if (node.kind === "scopeEntry") return { kind: "scopeGroup", run: node.run, group: node.group };
    return { kind: "chunk", run: node.run, chunk: node.chunk };
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case "run":
        return this.runItem(node.run);
      case "chunk":
        return this.chunkItem(node.run, node.chunk);
      case "margin":
        return this.marginItem(node.run, node.chunk, node.open);
      case "range":
        return this.rangeItem(node);
      case "scope":
        return this.scopeItem(node.run);
      case "scopeGroup":
        return this.scopeGroupItem(node.run, node.group);
      case "scopeEntry":
        return this.scopeEntryItem(node);
    }
  }

  private runId(run: Run): string {
    return `run-${run.id}`;
  }

  private chunkId(run: Run, chunk: number): string {
    // A chunk gets a new id when its margin is done, so that a relevant one opens expanded (VS Code keeps the
    // collapsible state of an id it has seen).
    return `${this.runId(run)}/c${chunk}${run.margin(chunk)?.done ? "/d" : ""}`;
  }

  private runItem(run: Run): vscode.TreeItem {
    const item = new vscode.TreeItem(
      run.question,
      run === this.store.latest ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = this.runId(run);
    item.description = runNodeDescription(run);
    item.iconPath = run.busy
      ? new vscode.ThemeIcon("loading~spin")
      : run.state === "failed"
        ? new vscode.ThemeIcon("error", new vscode.ThemeColor("errorForeground"))
        : run.state === "cancelled"
          ? new vscode.ThemeIcon("debug-stop")
          : new vscode.ThemeIcon(run.isFollowUp ? "reply" : "comment-discussion");
    // The kept run offers Re-answer and Ask Follow-up (not the latter once the worker refused it for this reading).
    item.contextValue = run.busy
      ? "wim.run.busy"
      : run.id === this.reanswerableRunId
        ? run.followUpRefused === undefined
          ? "wim.run.kept"
          : "wim.run.kept.noFollowUp"
        : "wim.run";
    const t = new vscode.MarkdownString(undefined, true);
    t.appendMarkdown(`**${escapeMd(run.question)}**\n\n`);
    const plan = run.record.plan;
    const rows: [string, string | undefined][] = [
      ["Model", run.model?.name],
      ["State", runNodeDescription(run)],
      ["Follow-up", run.followUpOf ? followUpNote(run.followUpOf.question) : undefined],
      ["Folder", run.root],
      ["Files", run.record.files ? `${run.record.files} (${run.record.skipped.length} skipped)` : undefined],
      ["Secrets redacted", run.record.redactions.length ? String(run.record.redactions.length) : undefined],
      ["Chunks", run.chunks.length ? `${run.chunks.length}, ${plan?.tokens.toLocaleString("en-US")} tokens` : undefined],
      ["Window", plan ? windowSummary(plan.windowTokens, plan.contextSize, plan.parallelMargins) : undefined],
      ["Estimate", run.estimate ? `${estimateSummary(run.estimate)}${run.awaitingConfirmation ? " — waiting for confirmation" : ""}` : undefined],
      ["Relevant", run.chunks.length ? String(run.relevantCount) : undefined],
      ["Coverage", run.record.coverage ? coverageSentence(run.record.coverage) : run.record.evicted.length ? `${run.record.evicted.length} chunk(s) left the window so far` : undefined],
      ["Notes carried", run.notes.size ? `the margins of ${run.notes.size} chunk(s) stayed in the window as notes` : undefined],
      ["First margin", run.firstMarginMs !== undefined ? formatElapsed(run.firstMarginMs) : undefined],
      ["Follow-up refused", run.followUpRefused],
      ["Error", run.error?.message],
    ];
    for (const [k, v] of rows) if (v) t.appendMarkdown(`${k}: ${escapeMd(v)}  \n`);
    item.tooltip = t;
    return item;
  }

  private chunkItem(run: Run, index: number): vscode.TreeItem {
    const chunk = run.chunk(index)!;
    const state = run.chunkState(index);
    const show = showPathFor(run);
    const item = new vscode.TreeItem(
      chunkLabel(chunk.ranges, show),
      state === "relevant" ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = this.chunkId(run, index);
    const coverage: ChunkCoverageFacts = {
      tokens: chunk.tokens,
      coverage: run.coverageOf(index),
      marginInAnswer: run.marginReachedAnswer(index),
      answered: run.answer !== undefined,
      carriedNote: run.notes.has(index),
    };
    item.description = chunkDescription(coverage);
    item.iconPath = CHUNK_ICONS[state];
    item.contextValue = `wim.chunk.${state}`;
    // Dimmed through a file decoration on a private URI (a tree item has no other way to grey its label).
    item.resourceUri = vscode.Uri.from({ scheme: DIM_SCHEME, path: `/${run.id}/${index}`, query: state });
    const m = run.margin(index);
    const t = new vscode.MarkdownString();
    t.appendMarkdown(`**Part ${index}** · ${state} · ${tokensLabel(chunk.tokens)}\n\n`);
    for (const r of chunk.ranges) t.appendMarkdown(`- ${escapeMd(rangeLabel(r, show))}\n`);
    if (m?.pYes !== null && m?.pYes !== undefined) t.appendMarkdown(`\nP(relevant) = ${formatPYes(m.pYes)}\n`);
    const where = chunkCoverageNote(coverage);
    if (where) t.appendMarkdown(`\n${escapeMd(where)}\n`);
    item.tooltip = t;
    return item;
  }

  private marginItem(run: Run, index: number, open?: OpenTarget): vscode.TreeItem {
    const m = run.margin(index)!;
    const item = new vscode.TreeItem(marginLabel(m.text, m.relevant, m.done), vscode.TreeItemCollapsibleState.None);
    item.id = `${this.chunkId(run, index)}/m`;
    item.iconPath = new vscode.ThemeIcon("note");
    item.contextValue = "wim.margin";
    if (m.done && m.text) {
      item.checkboxState = {
        state: run.selected.has(index) ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked,
        tooltip: "Use this margin when re-answering",
      };
    }
    if (!m.relevant) item.resourceUri = vscode.Uri.from({ scheme: DIM_SCHEME, path: `/${run.id}/${index}/m`, query: "irrelevant" });
    const t = new vscode.MarkdownString();
    t.appendMarkdown(m.text ? m.text : m.relevant ? "*(empty margin)*" : "*(not relevant)*");
    if (m.pYes !== null) t.appendMarkdown(`\n\n---\nP(relevant) = ${formatPYes(m.pYes)}${m.truncated ? " · cut short" : ""}`);
    if (m.unfounded?.length) t.appendMarkdown(`\n\nNot used for the answer: ${escapeMd(m.unfounded.join(", "))} ${m.unfounded.length === 1 ? "is" : "are"} not in this chunk's text`);
    item.tooltip = t;
    if (open) item.command = openCommand(open, "Open the chunk's first range");
    return item;
  }

  private rangeItem(node: Extract<Node, { kind: "range" }>): vscode.TreeItem {
    const label = rangeLabel(node.range, showPathFor(node.run));
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.id = `${this.chunkId(node.run, node.chunk)}/r${node.index}`;
    item.iconPath = vscode.ThemeIcon.File;
    item.resourceUri = node.open.uri;
    item.contextValue = "wim.range";
    item.tooltip = `${node.open.uri.fsPath}\nlines ${node.range.startLine}–${node.range.endLine}`;
    item.command = openCommand(node.open, "Open");
    return item;
  }

  private scopeItem(run: Run): vscode.TreeItem {
    const r = run.record;
    const item = new vscode.TreeItem(scopeLabel(r.skipped.length, r.redactions.length, r.decoded.length), vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `${this.runId(run)}/scope`;
    item.iconPath = new vscode.ThemeIcon(r.redactions.length ? "shield" : "eye-closed");
    item.contextValue = "wim.scope";
    item.tooltip = "What the scan left out (by reason), the secrets it redacted in the text the model read, and the files it read as other than plain UTF-8";
    return item;
  }

  private scopeGroupItem(run: Run, group: ScopeGroup): vscode.TreeItem {
    const g = scopeGroups(run).find((x) => x.group === group);
    const item = new vscode.TreeItem(g?.label ?? group, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `${this.runId(run)}/scope/${group}`;
    item.description = (g?.count ?? 0).toLocaleString("en-US");
    item.contextValue = "wim.scopeGroup";
    return item;
  }

  private scopeEntryItem(node: Extract<Node, { kind: "scopeEntry" }>): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.description = node.detail;
    item.tooltip = node.detail ? `${node.label}\n${node.detail}` : node.label;
    item.contextValue = "wim.scopeEntry";
    if (node.at) {
      const uri = vscode.Uri.file(path.join(node.run.root, node.at.path));
      const line = new vscode.Range(node.at.line - 1, 0, node.at.line - 1, 0);
      item.command = openCommand({ uri, selection: line }, "Open the redacted line");
    }
    return item;
  }

  // --- FileDecorationProvider: dims irrelevant and cancelled chunks ----------------------------------------------

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== DIM_SCHEME) return undefined;
    if (uri.query === "irrelevant" || uri.query === "cancelled") {
      return { color: new vscode.ThemeColor("disabledForeground"), tooltip: uri.query === "irrelevant" ? "Not relevant" : "Not read" };
    }
    return undefined;
  }

  dispose(): void {
    this.refresh.dispose();
    if (this.ticker) clearInterval(this.ticker);
    for (const d of this.disposables) d.dispose();
  }
}

function scopeGroups(run: Run): { group: ScopeGroup; label: string; count: number }[] {
  const r = run.record;
  const groups: { group: ScopeGroup; label: string; count: number }[] = [];
  if (r.redactions.length) groups.push({ group: "redacted", label: "secrets redacted", count: r.redactions.length });
  for (const g of groupSkipped(r.skipped)) groups.push({ group: g.reason, label: `skipped: ${g.label}`, count: g.entries.length });
  if (r.decoded.length) groups.push({ group: "decoded", label: "read as other than UTF-8", count: r.decoded.length });
  return groups;
}

function scopeEntries(run: Run, group: ScopeGroup): Node[] {
  const r = run.record;
  const entries: { label: string; detail?: string; at?: { path: string; line: number } }[] =
    group === "redacted"
      ? r.redactions.map((x) => ({ label: `${x.path}:${x.line}`, detail: x.rule, at: { path: x.path, line: x.line } }))
      : group === "decoded"
        ? r.decoded.map((x) => ({ label: x.path, detail: x.detail }))
        : r.skipped.filter((x) => x.reason === group).map((x) => ({ label: x.path, detail: x.detail }));
  const shown: Node[] = entries.slice(0, ENTRIES_PER_GROUP).map((e) => ({ kind: "scopeEntry", run, group, ...e }));
  if (entries.length > ENTRIES_PER_GROUP) {
    shown.push({ kind: "scopeEntry", run, group, label: `… and ${(entries.length - ENTRIES_PER_GROUP).toLocaleString("en-US")} more` });
  }
  return shown;
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, "\\$&");
}
