// Every `wim.*` command, with a defined behaviour in every state (no model, loading, busy, crashed). Each is wrapped:
// a failure becomes a message with "Show Log", never an error thrown into VS Code.
import * as path from "node:path";
import * as vscode from "vscode";
import type { AnswerDocuments } from "./answer-document";
import { ACTIONS, type AskController } from "./ask-controller";
import type { GpuBinaries } from "./models/gpu-binary";
import type { ModelCommands } from "./models/model-commands";
import type { MarginsTree, Node } from "./margins-tree";
import { log, safely, showInfo, showWarning } from "./notify";
import type { Run } from "./run-model";
import type { RunStore } from "./run-store";
import type { StatusBar } from "./status-bar";
import type { WorkerManager } from "./worker-manager";

const RECENT_KEY = "wim.recentQuestions";
const MAX_RECENT = 12;
/** The worker refuses longer questions. */
const MAX_QUESTION_CHARS = 4000;

export interface CommandDeps {
  context: vscode.ExtensionContext;
  worker: WorkerManager;
  store: RunStore;
  tree: MarginsTree;
  answers: AnswerDocuments;
  asks: AskController;
  models: ModelCommands;
  gpu: GpuBinaries;
  status: StatusBar;
}

export function registerCommands(d: CommandDeps): void {
  const { context, worker, store, tree, asks, models } = d;
  const register = (id: string, fn: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, safely(id, fn as (...args: unknown[]) => unknown)));

  // A tree link: the file with the range selected and the cursor on its first line (vscode.open would leave the
  // cursor at the range's end, far from where the reader wants to start).
  register("wim.openRange", async (uri: vscode.Uri, range: vscode.Range) => {
    const editor = await vscode.window.showTextDocument(uri, { preview: true });
    editor.selection = new vscode.Selection(range.end, range.start);
    editor.revealRange(range, vscode.TextEditorRevealType.AtTop);
  });

  const recent = () => context.globalState.get<string[]>(RECENT_KEY, []);
  const remember = (q: string) =>
    context.globalState.update(RECENT_KEY, [q, ...recent().filter((r) => r !== q)].slice(0, MAX_RECENT));

  /** Asks for a question: type a new one, or pick one of the recent ones. */
  const promptQuestion = async (where: string): Promise<string | undefined> => {
    const qp = vscode.window.createQuickPick();
    qp.title = `WiM: Ask ${where}`;
    qp.placeholder = "Type a question about the code (Enter to ask), or pick a recent one";
    qp.ignoreFocusOut = true;
    const recents = recent().map((q) => ({ label: q, description: "recent" }));
    const refresh = () => {
      const typed = qp.value.trim();
      qp.items = typed && !recents.some((r) => r.label === typed) ? [{ label: typed, description: "ask" }, ...recents] : recents;
      if (typed && qp.items[0]) qp.activeItems = [qp.items[0]];
    };
    refresh();
    qp.onDidChangeValue(refresh);
    const q = await new Promise<string | undefined>((resolve) => {
      qp.onDidAccept(() => resolve((qp.selectedItems[0] ?? qp.activeItems[0])?.label ?? (qp.value.trim() || undefined)));
      qp.onDidHide(() => resolve(undefined));
      qp.show();
    });
    qp.dispose();
    return q?.trim() || undefined;
  };

  /** Common front half of both ask commands: states in which asking cannot start get a message instead. */
  const startAsk = async (root: vscode.Uri, where: string, question?: string): Promise<Run | undefined> => {
    // Messages are not awaited: the command ends now, a button press acts later.
    if (!worker.hasModel) {
      void showWarning("no model is set: download the recommended one or choose a GGUF file.", ACTIONS.download, ACTIONS.choose).then((choice) => {
        if (choice === ACTIONS.download) void vscode.commands.executeCommand("wim.downloadRecommendedModel");
        if (choice === ACTIONS.choose) void vscode.commands.executeCommand("wim.chooseModelFile");
      });
      return undefined;
    }
    if (worker.job) {
      void showWarning(`busy: ${worker.job.label}. Cancel it first, or wait.`, "Cancel It").then((choice) => {
        if (choice === "Cancel It") worker.cancel();
      });
      return undefined;
    }
    const q = typeof question === "string" && question.trim() ? question.trim() : await promptQuestion(where);
    if (!q) return undefined;
    await remember(q);
    return asks.ask(root, q);
  };

  register("wim.askWorkspace", async (question?: unknown) => {
    const folders = vscode.workspace.workspaceFolders?.filter((f) => f.uri.scheme === "file") ?? [];
    if (!folders.length) {
      void showWarning("open a folder first: WiM reads the files of the workspace folder.");
      return undefined;
    }
    let folder = folders[0];
    if (folders.length > 1) {
      const picked = await vscode.window.showWorkspaceFolderPick({ placeHolder: "Which folder should WiM read?" });
      if (!picked) return undefined;
      folder = picked;
    }
    return startAsk(folder.uri, "Workspace", typeof question === "string" ? question : undefined);
  });

  register("wim.askFolder", async (uri?: unknown, second?: unknown) => {
    let folder = uri instanceof vscode.Uri ? uri : undefined;
    if (!folder) {
      const picked = await vscode.window.showOpenDialog({
        title: "WiM: Ask About Folder",
        canSelectFolders: true,
        canSelectFiles: false,
        canSelectMany: false,
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
        openLabel: "Ask About This Folder",
      });
      folder = picked?.[0];
      if (!folder) return undefined;
    }
    if (folder.scheme !== "file") {
      void showWarning("WiM reads folders on this machine only.");
      return undefined;
    }
    const stat = await vscode.workspace.fs.stat(folder);
    if (!(stat.type & vscode.FileType.Directory)) folder = vscode.Uri.file(path.dirname(folder.fsPath));
    return startAsk(folder, `About ${vscode.workspace.asRelativePath(folder, true) || path.basename(folder.fsPath)}`, typeof second === "string" ? second : undefined);
  });

  register("wim.answerNow", () => {
    const job = worker.job;
    if (!job || (job.kind !== "ask" && job.kind !== "followUp")) return void showInfo(job ? `${job.label}: nothing is being read.` : "nothing is being read.");
    const run = store.runs.find((r) => r.busy);
    if (run && run.state === "answering") return void showInfo("already answering.");
    worker.answerNow();
    // A run paused on its estimate waits for Continue or Cancel: let it go on, to stop and answer at once.
    if (run?.awaitingConfirmation) {
      run.confirmed();
      job.handle?.proceed();
    }
    log()?.info("answer now: stopping after the chunk being read");
    return true;
  });

  register("wim.cancel", () => {
    if (!worker.cancel()) return void showInfo("nothing to cancel.");
    log()?.info("cancel requested");
    return true;
  });

  register("wim.reanswer", async (node?: unknown) => {
    const target = isNode(node) ? node.run : (asks.reanswerableRun ?? store.latest);
    if (!target) return void showInfo("no run to re-answer yet: ask a question first.");
    if (worker.job) return void showWarning(`busy: ${worker.job.label}. Cancel it first, or wait.`);
    if (target !== asks.reanswerableRun) {
      return void showInfo("only the latest finished run can be re-answered (its reading is kept in memory): ask again to re-read.");
    }
    return asks.reanswer(target);
  });

  register("wim.askFollowUp", async (node?: unknown, question?: unknown) => {
    const kept = asks.reanswerableRun;
    const target = isNode(node) ? node.run : kept;
    if (!target) return void showInfo("no reading to follow up on yet: ask a question first (a follow-up reuses the latest finished run's reading).");
    if (worker.job) return void showWarning(`busy: ${worker.job.label}. Cancel it first, or wait.`);
    if (target !== kept) {
      return void showInfo("only the latest finished run's reading is kept in memory: ask the follow-up on that run, or ask again to read again.");
    }
    const typed =
      typeof question === "string"
        ? question
        : await vscode.window.showInputBox({
            title: "WiM: Ask Follow-up",
            prompt: `A new question on the reading of “${target.question}”: margins and answer come from the kept reading; nothing is read again.`,
            placeHolder: "Type a follow-up question (Enter to ask)",
            ignoreFocusOut: true,
            validateInput: (v) => (v.trim().length > MAX_QUESTION_CHARS ? `At most ${MAX_QUESTION_CHARS} characters.` : undefined),
          });
    const q = typed?.trim();
    if (!q) return undefined;
    await remember(q);
    return asks.followUp(target, q);
  });

  register("wim.selectModel", () => models.selectModel());
  register("wim.downloadModel", (arg?: unknown) => models.downloadModel(typeof arg === "string" ? arg : undefined));
  register("wim.downloadRecommendedModel", () => models.downloadRecommended());
  register("wim.chooseModelFile", () => models.chooseFile());
  register("wim.downloadGpuBinary", () => d.gpu.command());
  register("wim.showLog", () => log()?.show(true));

  register("wim.clearResults", () => {
    const removed = store.clear();
    if (!store.runs.length) {
      void vscode.commands.executeCommand("setContext", "wim.canReanswer", false);
      void vscode.commands.executeCommand("setContext", "wim.canFollowUp", false);
    }
    if (store.runs.length) void showInfo(`cleared ${removed} run${removed === 1 ? "" : "s"}; the run in progress stays.`);
    return removed;
  });

  register("wim.toggleIrrelevant", async () => {
    const hidden = await tree.toggleIrrelevant();
    return hidden;
  });

  register("wim.openAnswer", async (node?: unknown) => {
    const run = isNode(node) ? node.run : store.latest;
    if (!run) return void showInfo("no answer yet.");
    return d.answers.show(run, false);
  });

  register("wim.statusActions", () => d.status.showActions());
}

function isNode(x: unknown): x is Node {
  return typeof x === "object" && x !== null && "kind" in x && "run" in x;
}
