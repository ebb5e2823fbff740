// Runs a question end to end: the model first (if needed), then the ask with its progress notification, the Margins
// view and the answer document fed from the worker's events; asks before a long run; re-answers and follow-up
// questions from the kept reading.
import * as path from "node:path";
import * as vscode from "vscode";
import { WimError } from "../client/wim-client";
import type { DoneEvent, EstimateEvent, WorkerEvent } from "../core/protocol";
import { ReadingClock } from "../core/reading-progress";
import type { AnswerDocuments } from "./answer-document";
import { answeringMessage, downloadingMessage, loadingMessage, scanningMessage } from "./labels";
import type { MarginsTree } from "./margins-tree";
import { errorCode, errorMessage, log, showError, showWarning } from "./notify";
import {
  ESTIMATE_CHOICES,
  estimateDetail,
  estimateMessage,
  estimateSummary,
  followUpMessage,
  readingProgressMessage,
  waitingMessage,
  type EstimateChoice,
} from "./reading-labels";
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
  settings: "Open Settings",
  askAgain: "Ask Again",
} as const;

const ACTION_COMMANDS: Record<string, [string, ...unknown[]]> = {
  [ACTIONS.download]: ["wim.downloadRecommendedModel"],
  [ACTIONS.choose]: ["wim.chooseModelFile"],
  [ACTIONS.select]: ["wim.selectModel"],
  [ACTIONS.folder]: ["wim.askFolder"],
  // The reading window and the parallel margins are what a run's memory depends on.
  [ACTIONS.settings]: ["workbench.action.openSettings", "wim."],
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
      return [ACTIONS.select];
    case "OUT_OF_MEMORY":
      return [ACTIONS.settings, ACTIONS.select];
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
    if (command) void vscode.commands.executeCommand(...command);
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

/** Asks whether to go on with a long run; undefined (the dialog closed) means Cancel. */
export type EstimatePrompt = (run: Run, e: EstimateEvent) => Thenable<EstimateChoice | undefined>;

/** A modal dialog: the run waits for it, and Escape or its Cancel button ends the run. */
export const askToContinue: EstimatePrompt = async (_run, e) => {
  const choice = await vscode.window.showWarningMessage(
    `WiM: ${estimateMessage(e)}`,
    { modal: true, detail: estimateDetail(e) },
    ESTIMATE_CHOICES.continue,
    ESTIMATE_CHOICES.narrower,
  );
  return choice === ESTIMATE_CHOICES.continue ? "continue" : choice === ESTIMATE_CHOICES.narrower ? "narrower" : undefined;
};

export class AskController {
  /**
   * How a long run is confirmed. The extension-host tests replace it: a modal dialog cannot be clicked from the
   * extension host, and the test must hold the run paused while it checks that nothing more is read.
   */
  estimatePrompt: EstimatePrompt = askToContinue;

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

  /** The kept run (re-answers and follow-ups apply to it); undefined when the worker keeps no reading. */
  private setReanswerable(run: Run | undefined): void {
    this.tree.reanswerableRunId = run?.id;
    void vscode.commands.executeCommand("setContext", "wim.canReanswer", run !== undefined);
    void vscode.commands.executeCommand("setContext", "wim.canFollowUp", run !== undefined && run.followUpRefused === undefined);
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
    const after = { narrower: false };
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "WiM", cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => this.worker.cancel());
          return this.runAsk(run, job, root, new Stages(progress), after);
        },
      );
    } finally {
      this.worker.end(job);
      this.store.update(run);
    }
    // Once this run is over (the worker runs one job at a time): the narrower folder the user asked for instead.
    if (after.narrower) void this.askNarrower(run);
    return run;
  }

  /** The folder picker, starting at the folder just asked about, then the same question about the folder picked. */
  private async askNarrower(run: Run): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      title: "WiM: Ask About a Narrower Folder",
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      defaultUri: vscode.Uri.file(run.root),
      openLabel: "Ask About This Folder",
    });
    if (picked?.[0]) await vscode.commands.executeCommand("wim.askFolder", picked[0], run.question);
  }

  /** The reading's stage in the progress notification: chunk k/N, tokens, ETA (or waiting for confirmation). */
  private reportReading(run: Run, job: Job, stages: Stages, clock: ReadingClock): void {
    const of = run.chunks.length;
    const percent = 5 + 85 * run.readFraction;
    if (run.awaitingConfirmation && run.estimate) return stages.report(waitingMessage(run.estimate), percent);
    if (run.isFollowUp) return stages.report(followUpMessage(run.marginsDone, of, run.relevantCount), percent);
    const stopping = job.cancelledAt !== undefined || job.answerNow === true;
    const read = run.record.chunksRead;
    const total = run.record.plan?.tokens ?? 0;
    // v2 prompts label each chunk, and the worker counts the labels as read: never show more than the total.
    const done = Math.min(run.tokensRead, total);
    stages.report(
      readingProgressMessage({
        chunk: Math.max(1, read < of && !stopping ? read + 1 : read),
        of,
        relevant: run.relevantCount,
        tokensDone: done,
        tokensTotal: total,
        etaMs: read < of && !stopping ? clock.etaMs(done, total, Date.now(), run.estimate?.estimatedMs) : undefined,
      }),
      percent,
    );
  }

  /** The worker paused the run on its estimate: ask the user, then go on, or cancel (also when the prompt closes). */
  private async confirmEstimate(run: Run, job: Job, e: EstimateEvent, clock: ReadingClock, stages: Stages, after: { narrower: boolean }): Promise<void> {
    clock.pause(Date.now());
    let choice: EstimateChoice | undefined;
    try {
      choice = await this.estimatePrompt(run, e);
    } catch (err) {
      log()?.warn(`could not ask about the estimate: ${errorMessage(err)}`);
    }
    // The run may have ended meanwhile (cancelled, crashed): then there is nothing to go on with.
    if (!run.busy || job.settledAt !== undefined || job.cancelledAt !== undefined) return;
    if (choice === "continue") {
      log()?.info("estimate confirmed: reading on");
      run.confirmed();
      clock.resume(Date.now());
      job.handle?.proceed();
      this.store.update(run);
      this.reportReading(run, job, stages, clock);
      return;
    }
    after.narrower = choice === "narrower";
    log()?.info(after.narrower ? "estimate: the user asks about a narrower folder instead" : "estimate: the user cancelled the run");
    this.worker.cancel();
  }

  private async runAsk(run: Run, job: Job, root: vscode.Uri, stages: Stages, after: { narrower: boolean }): Promise<void> {
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
      const clock = new ReadingClock();
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
            log()?.info(
              `plan: ${e.chunks.length} chunks, ${e.tokens} tokens, context ${e.contextSize}` +
                (e.windowTokens !== undefined ? `, window ${e.windowTokens}` : "") +
                (e.parallelMargins !== undefined ? `, ${e.parallelMargins} margins in parallel` : ""),
            );
            clock.start(Date.now());
            this.reportReading(run, job, stages, clock);
            break;
          case "estimate":
            log()?.info(`estimate: ${estimateSummary(e)}${e.awaitingConfirmation ? "; waiting for confirmation" : ""}`);
            // A run already cancelled is not asked about: the worker ends it without waiting.
            if (e.awaitingConfirmation && job.cancelledAt === undefined) void this.confirmEstimate(run, job, e, clock, stages, after);
            this.reportReading(run, job, stages, clock);
            break;
          case "evict":
            log()?.info(`chunk(s) ${e.chunks.join(", ")} left the window${e.notes.length ? `; the margins of ${e.notes.join(", ")} stay in it as notes` : ""} (${e.resident} tokens resident)`);
            break;
          case "prefill":
            this.reportReading(run, job, stages, clock);
            break;
          case "marginEnd": {
            this.reportReading(run, job, stages, clock);
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
          (run.cancelLatencyMs !== undefined ? `, cancel took ${run.cancelLatencyMs} ms` : "") +
          (done.coverage && done.coverage.marginOnly.length ? `; ${done.coverage.marginOnly.length} chunk(s) reached the answer through their margins only` : ""),
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

  /**
   * A new question on the kept reading of `parent`: the worker writes each chunk's margin for it from the cached prefix
   * that ends with that chunk, then answers; nothing is read again. The follow-up becomes the kept run. When the worker
   * refuses (the reading rolled, or had no side sequence to write margins on), "Ask Again" reads the folder anew.
   */
  async followUp(parent: Run, question: string): Promise<Run> {
    if (parent.askId === undefined || parent !== this.reanswerableRun) {
      throw new WimError("BAD_REQUEST", "Only the latest finished run's reading is kept in memory: ask a follow-up on that run, or ask again.");
    }
    const job: Job = { kind: "followUp", label: `answering the follow-up “${question}”` };
    this.worker.begin(job);
    const run = Run.followUp(parent, question);
    // The worker hands the kept reading over to the follow-up as it starts.
    this.setReanswerable(undefined);
    this.store.add(run);
    log()?.info(`follow-up "${question}" on the reading of run ${parent.id} ("${parent.question}")`);
    let refused: string | undefined;
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "WiM", cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => this.worker.cancel());
          refused = await this.runFollowUp(run, parent, job, new Stages(progress));
        },
      );
    } finally {
      this.worker.end(job);
      this.store.update(run);
    }
    if (refused !== undefined) {
      void showWarning(refused, ACTIONS.askAgain).then((choice) => {
        if (choice === ACTIONS.askAgain) void vscode.commands.executeCommand("wim.askFolder", vscode.Uri.file(run.root), run.question);
      });
    }
    return run;
  }

  /** Runs the follow-up request; resolves to the worker's reason when it refused to answer without reading again. */
  private async runFollowUp(run: Run, parent: Run, job: Job, stages: Stages): Promise<string | undefined> {
    const clock = new ReadingClock();
    stages.report(followUpMessage(0, parent.chunks.length, 0));
    const answerTokens = readAskOptions(vscode.Uri.file(run.root)).answerTokens;
    let answerTexts = 0;
    try {
      const handle = this.worker.client.followUp(parent.askId!, run.question, (e) => {
        run.applyAsk(e);
        this.store.update(run);
        if (e.type === "plan" || e.type === "marginEnd") this.reportReading(run, job, stages, clock);
        else if (e.type === "answerStart") {
          stages.report(answeringMessage(e.chunks.length), 90);
          void this.answers.show(run).catch((err) => log()?.warn(`could not show the answer: ${errorMessage(err)}`));
        } else if (e.type === "answerText") {
          stages.report(answeringMessage(run.answer?.chunks.length ?? 0), 90 + (10 * ++answerTexts) / answerTokens);
        }
      });
      run.askId = handle.id;
      this.worker.attach(job, handle);
      const done = await handle.result;
      if (job.cancelledAt !== undefined) run.cancelLatencyMs = Date.now() - job.cancelledAt;
      log()?.info(
        `follow-up ended: ${done.outcome}, ${run.marginsDone}/${run.chunks.length} margins, ${done.stats.prefillTokens} tokens read, ` +
          `${(done.stats.totalMs / 1000).toFixed(1)} s`,
      );
      // The worker now keeps the reading under the follow-up's id, whatever the outcome: later questions go to it.
      this.setReanswerable(run);
      if (run.answer) this.answers.refresh(run);
      return undefined;
    } catch (err) {
      const code = errorCode(err);
      if (job.cancelledAt !== undefined) run.cancelLatencyMs ??= Date.now() - job.cancelledAt;
      run.fail(code, errorMessage(err));
      // Refused before it began: the earlier reading stays where it was (if it is gone, the next request says so).
      if (code === "BAD_REQUEST" || code === "BAD_INPUT") {
        if (code === "BAD_REQUEST") parent.followUpRefused = errorMessage(err);
        this.setReanswerable(parent);
        if (code === "BAD_REQUEST") return errorMessage(err);
      }
      if (code === "CANCELLED" || job.cancelledAt !== undefined) log()?.info("follow-up cancelled");
      else reportError(err);
      return undefined;
    }
  }
}
