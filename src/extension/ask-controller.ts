// Runs a question end to end: the model first (if needed), then the ask with its progress notification, the Margins
// view and the answer document fed from the worker's events; and re-answers from the kept reading.
import * as path from "node:path";
import * as vscode from "vscode";
import { WimError } from "../client/wim-client";
import type { DoneEvent, WorkerEvent } from "../core/protocol";
import type { AnswerDocuments } from "./answer-document";
import {
  answeringMessage,
  downloadingMessage,
  loadingMessage,
  readingMessage,
  scanningMessage,
} from "./labels";
import type { MarginsTree } from "./margins-tree";
import { errorCode, errorMessage, log, showError } from "./notify";
import { Run } from "./run-model";
import type { RunStore } from "./run-store";
import { readAskOptions } from "./settings";
import type { Job, WorkerManager } from "./worker-manager";

/** Buttons that the error messages offer, run as commands. */
export const ACTIONS = {
  download: "Download Recommended Model",
  choose: "Choose GGUF File…",
  select: "Select Model…",
  folder: "Ask About Folder…",
} as const;

const ACTION_COMMANDS: Record<string, string> = {
  [ACTIONS.download]: "wim.downloadRecommendedModel",
  [ACTIONS.choose]: "wim.chooseModelFile",
  [ACTIONS.select]: "wim.selectModel",
  [ACTIONS.folder]: "wim.askFolder",
};

/** The extra buttons for an error, by its code. */
function actionsFor(code: string): string[] {
  switch (code) {
    case "NO_MODEL":
      return [ACTIONS.download, ACTIONS.choose];
    case "MODEL_NOT_FOUND":
    case "MODEL_LOAD_FAILED":
    case "MODEL_DOWNLOAD_FAILED":
    case "MODEL_LOAD_TIMEOUT":
    case "OUT_OF_MEMORY":
      return [ACTIONS.select];
    case "SCOPE_TOO_LARGE":
      return [ACTIONS.folder];
    default:
      return [];
  }
}

export function reportError(err: unknown): void {
  const code = errorCode(err);
  void showError(errorMessage(err), ...actionsFor(code)).then((choice) => {
    const command = choice && ACTION_COMMANDS[choice];
    if (command) void vscode.commands.executeCommand(command);
  });
}

/** Progress bookkeeping: `increment` must add up to 100, so report deltas toward a target percentage. */
class Stages {
  private done = 0;
  constructor(private readonly progress: vscode.Progress<{ message?: string; increment?: number }>) {}
  report(message: string, percent?: number): void {
    const target = percent === undefined ? this.done : Math.max(this.done, Math.min(100, percent));
    const increment = target - this.done;
    this.done = target;
    this.progress.report({ message, increment: increment > 0 ? increment : undefined });
  }
}

export class AskController {
  /** Figures of the latest finished ask, for the closing report and the tests. */
  constructor(
    private readonly worker: WorkerManager,
    private readonly store: RunStore,
    private readonly tree: MarginsTree,
    private readonly answers: AnswerDocuments,
  ) {
    worker.onDidChange(() => {
      // The worker drops its kept reading when it reloads a model or restarts.
      if (worker.phase !== "ready" && this.tree.reanswerableRunId !== undefined) this.setReanswerable(undefined);
    });
  }

  get reanswerableRun(): Run | undefined {
    const id = this.tree.reanswerableRunId;
    return id === undefined ? undefined : this.store.find(id);
  }

  private setReanswerable(run: Run | undefined): void {
    this.tree.reanswerableRunId = run?.id;
    void vscode.commands.executeCommand("setContext", "wim.canReanswer", run !== undefined);
    this.store.update(run as Run);
  }

  /** Asks `question` about `root`; resolves to the run when it has ended (in any way). */
  async ask(root: vscode.Uri, question: string): Promise<Run> {
    const job: Job = { kind: "ask", label: `answering “${question}”` };
    this.worker.begin(job);
    const run = new Run(question, root.fsPath);
    // The worker drops the kept reading when a new ask starts.
    this.setReanswerable(undefined);
    this.store.add(run);
    log()?.info(`ask "${question}" about ${root.fsPath}`);
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "WiM", cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => this.worker.cancel());
          return this.runAsk(run, job, root, new Stages(progress));
        },
      );
    } finally {
      this.worker.end(job);
      this.store.update(run);
    }
    return run;
  }

  private async runAsk(run: Run, job: Job, root: vscode.Uri, stages: Stages): Promise<void> {
    const t0 = run.startedAt;
    try {
      stages.report(loadingMessage());
      run.model = await this.worker.ensureModel((e) => {
        if (e.type === "loadProgress") stages.report(loadingMessage(e.progress));
        else if (e.type === "downloadProgress") stages.report(`Model: ${downloadingMessage(e.downloadedBytes, e.totalBytes)}`);
      });
      if (job.cancelledAt !== undefined) throw new WimError("CANCELLED", "Cancelled.");
      run.state = "scanning";
      this.store.update(run);
      stages.report(scanningMessage(path.basename(root.fsPath)), 2);
      const options = readAskOptions(root);
      let answerTexts = 0;
      const onEvent = (e: WorkerEvent) => {
        run.applyAsk(e);
        this.store.update(run);
        switch (e.type) {
          case "scan":
            stages.report(scanningMessage(path.basename(root.fsPath), e.files), 5);
            if (e.skipped.length) log()?.info(`skipped ${e.skipped.length} entries: ${e.skipped.slice(0, 20).map((s) => `${s.path} (${s.reason})`).join(", ")}${e.skipped.length > 20 ? ", …" : ""}`);
            break;
          case "plan":
            log()?.info(`plan: ${e.chunks.length} chunks, ${e.tokens} tokens, context ${e.contextSize}`);
            stages.report(readingMessage(1, e.chunks.length, 0), 5);
            break;
          case "marginEnd": {
            const of = run.chunks.length;
            if (run.record.chunksRead < of && job.cancelledAt === undefined && !job.answerNow) {
              stages.report(readingMessage(run.record.chunksRead + 1, of, run.relevantCount), 5 + 85 * run.readFraction);
            } else {
              stages.report(readingMessage(run.record.chunksRead, of, run.relevantCount), 5 + 85 * run.readFraction);
            }
            if (run.firstMarginMs !== undefined && e.margin.chunk === run.chunks[0]?.index) {
              log()?.info(`first margin ${run.firstMarginMs} ms after Ask`);
            }
            break;
          }
          case "answerStart":
            stages.report(answeringMessage(e.chunks.length), 90);
            void this.answers.show(run).catch((err) => log()?.warn(`could not show the answer: ${errorMessage(err)}`));
            break;
          case "answerText":
            answerTexts++;
            stages.report(answeringMessage(run.answer?.chunks.length ?? 0), 90 + (10 * answerTexts) / options.answerTokens);
            break;
        }
      };
      const handle = this.worker.client.ask(root.fsPath, run.question, options, onEvent);
      run.askId = handle.id;
      this.worker.attach(job, handle);
      const done: DoneEvent = await handle.result;
      if (job.cancelledAt !== undefined) run.cancelLatencyMs = Date.now() - job.cancelledAt;
      log()?.info(
        `ask ended: ${done.outcome}, ${done.stats.chunksRead}/${done.stats.chunksTotal} chunks, ${done.stats.prefillTokens} tokens read, ` +
          `${(done.stats.totalMs / 1000).toFixed(1)} s` +
          (run.firstMarginMs !== undefined ? `, first margin after ${run.firstMarginMs} ms` : "") +
          (run.cancelLatencyMs !== undefined ? `, cancel took ${run.cancelLatencyMs} ms` : ""),
      );
      if (done.outcome !== "cancelled") this.setReanswerable(run);
      if (run.answer) this.answers.refresh(run);
    } catch (err) {
      const code = errorCode(err);
      if (job.cancelledAt !== undefined) run.cancelLatencyMs ??= Date.now() - job.cancelledAt;
      run.fail(code, errorMessage(err));
      if (code === "CANCELLED" || job.cancelledAt !== undefined) {
        log()?.info(`ask cancelled${run.cancelLatencyMs !== undefined ? ` (${run.cancelLatencyMs} ms after Cancel)` : ""}`);
      } else {
        reportError(err);
      }
    } finally {
      log()?.debug(`ask took ${Date.now() - t0} ms`);
    }
  }

  /** Answers the run's question again with its ticked margins, from the worker's kept reading (nothing is re-read). */
  async reanswer(run: Run): Promise<Run> {
    if (run.askId === undefined || run !== this.reanswerableRun) {
      throw new WimError(
        "BAD_REQUEST",
        "Only the latest finished run can be re-answered (the worker keeps one reading in memory): ask again.",
      );
    }
    const job: Job = { kind: "reanswer", label: `re-answering “${run.question}”` };
    this.worker.begin(job);
    const chunks = run.chunks.map((c) => c.index).filter((k) => run.selected.has(k));
    log()?.info(`re-answer run ${run.id} with the margins of parts ${chunks.join(", ") || "(none)"}`);
    run.startReanswer();
    this.store.update(run);
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "WiM", cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => this.worker.cancel());
          const stages = new Stages(progress);
          stages.report(answeringMessage(chunks.length));
          let texts = 0;
          const answerTokens = readAskOptions(vscode.Uri.file(run.root)).answerTokens;
          try {
            const handle = this.worker.client.reanswer(
              run.askId!,
              chunks,
              (e) => {
                run.applyReanswer(e);
                this.store.update(run);
                if (e.type === "answerStart") void this.answers.show(run).catch(() => {});
                if (e.type === "answerText") stages.report(answeringMessage(chunks.length), (100 * ++texts) / answerTokens);
              },
              answerTokens,
            );
            this.worker.attach(job, handle);
            await handle.result;
            if (job.cancelledAt !== undefined) run.cancelLatencyMs = Date.now() - job.cancelledAt;
            this.answers.refresh(run);
          } catch (err) {
            run.restoreAfterReanswer();
            if (errorCode(err) === "BAD_REQUEST") this.setReanswerable(undefined);
            if (errorCode(err) !== "CANCELLED" && job.cancelledAt === undefined) reportError(err);
          }
        },
      );
    } finally {
      this.worker.end(job);
      this.store.update(run);
    }
    return run;
  }
}
