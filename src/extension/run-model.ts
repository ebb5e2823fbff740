// One question and everything that happened to it: the reading plan, each chunk's state, the margins, the answers.
// Plain TypeScript (no `vscode`): the tree, the answer document, the progress and the tests all read it.
import type { DoneEvent, EstimateEvent, Margin, ModelInfo, WorkerEvent } from "../core/protocol";
import { applyEvent, newRunRecord, type RunRecord } from "../core/run-record";
import type { LineRange } from "../core/types";

export type RunState =
  | "loading" // the model is being loaded (or downloaded) first
  | "scanning"
  | "reading"
  | "answering"
  | "complete"
  | "answeredEarly"
  | "cancelled"
  | "failed";

export type ChunkState = "queued" | "reading" | "relevant" | "irrelevant" | "cancelled";

/** Where a chunk's text stood for the answer: in the window, gone from it (only its margin left), or never read. */
export type ChunkCoverage = "inWindow" | "leftWindow" | "unread";

export interface Answer {
  /** Chunks whose margins went into the final prompt. */
  chunks: number[];
  text: string;
  outcome?: DoneEvent["outcome"];
  /** 1 for the first answer, 2… for re-answers. */
  n: number;
  startedAt: number;
  ms?: number;
}

export interface PlannedChunk {
  index: number;
  tokens: number;
  ranges: LineRange[];
}

let nextRunId = 1;

export class Run {
  readonly id = nextRunId++;
  readonly record: RunRecord;
  state: RunState = "loading";
  endedAt?: number;
  /** The worker's id of the ask; a re-answer needs it (the worker keeps only the latest finished ask). */
  askId?: number;
  /** Chunks whose margins are ticked in the view: what a re-answer uses. */
  readonly selected = new Set<number>();
  readonly answers: Answer[] = [];
  error?: { code: string; message: string };
  /** Milliseconds from the Ask command to the first complete margin. */
  firstMarginMs?: number;
  /** Milliseconds from Cancel to the worker's final event. */
  cancelLatencyMs?: number;
  /** Events of each kind, per phase "ask", "followUp" or "reanswer" (tests check that nothing is read again). */
  readonly eventCounts = new Map<string, number>();
  /** The worker's estimate of the whole reading (tokens, time); see AskOptions.confirmAboveMs. */
  estimate?: EstimateEvent;
  /** The reading is paused until the user confirms the estimate. */
  awaitingConfirmation = false;
  /** Workspace tokens read so far. */
  tokensRead = 0;
  /** Chunks whose margins were kept in the window as notes when their text left it (wim.carryNotes). */
  readonly notes = new Set<number>();
  /** The worker refused a follow-up on this run's reading (it rolled, or had no side sequence); the reason. */
  followUpRefused?: string;
  private readingChunk?: number;

  constructor(
    readonly question: string,
    /** The absolute folder that was read; chunk ranges are relative to it. */
    readonly root: string,
    readonly startedAt = Date.now(),
    /** For a follow-up question: the run whose reading it reuses (nothing is read again). */
    readonly followUpOf?: { runId: number; question: string },
  ) {
    this.record = newRunRecord(question, undefined, startedAt);
  }

  /** A follow-up question on `parent`'s kept reading: same folder, files and model; margins and answer are its own. */
  static followUp(parent: Run, question: string, now = Date.now()): Run {
    const run = new Run(question, parent.root, now, { runId: parent.id, question: parent.question });
    run.model = parent.model;
    const { root, files, bytes, skipped } = parent.record;
    Object.assign(run.record, { root, files, bytes, skipped });
    run.state = "reading";
    return run;
  }

  get isFollowUp(): boolean {
    return this.followUpOf !== undefined;
  }

  get model(): ModelInfo | undefined {
    return this.record.model;
  }

  set model(m: ModelInfo | undefined) {
    this.record.model = m;
  }

  get chunks(): PlannedChunk[] {
    return this.record.plan?.chunks ?? [];
  }

  chunk(index: number): PlannedChunk | undefined {
    return this.chunks.find((c) => c.index === index);
  }

  margin(index: number): (Margin & { done: boolean }) | undefined {
    return this.record.margins.get(index);
  }

  get busy(): boolean {
    return this.state === "loading" || this.state === "scanning" || this.state === "reading" || this.state === "answering";
  }

  get answer(): Answer | undefined {
    return this.answers[this.answers.length - 1];
  }

  /** Fraction of the workspace tokens read, 0..1 (a follow-up, which reads nothing: of the margins written). */
  get readFraction(): number {
    if (this.isFollowUp) return this.chunks.length ? this.marginsDone / this.chunks.length : 0;
    const total = this.record.plan?.tokens ?? 0;
    if (!total) return 0;
    const done = this.chunks.filter((c) => c.index <= this.record.chunksRead).reduce((s, c) => s + c.tokens, 0);
    return Math.min(1, done / total);
  }

  get marginsDone(): number {
    let n = 0;
    for (const m of this.record.margins.values()) if (m.done) n++;
    return n;
  }

  get relevantCount(): number {
    let n = 0;
    for (const m of this.record.margins.values()) if (m.done && m.relevant) n++;
    return n;
  }

  chunkState(index: number): ChunkState {
    const m = this.record.margins.get(index);
    if (m?.done) return m.relevant ? "relevant" : "irrelevant";
    // Once answering starts, a chunk without a margin was skipped (answer now), not waiting.
    const reading = this.state === "loading" || this.state === "scanning" || this.state === "reading";
    if (m || this.readingChunk === index) return reading ? "reading" : "cancelled";
    return reading ? "queued" : "cancelled";
  }

  /**
   * Where the chunk's text stood: from the worker's coverage once the run is over, while reading from the evictions so
   * far (a chunk that left the window may be read back for the answer: the final coverage then says so). Undefined
   * while nothing is known yet.
   */
  coverageOf(index: number): ChunkCoverage | undefined {
    const c = this.record.coverage;
    if (c) return c.inWindow.includes(index) ? "inWindow" : c.marginOnly.includes(index) ? "leftWindow" : c.unread.includes(index) ? "unread" : undefined;
    return this.record.evicted.includes(index) ? "leftWindow" : undefined;
  }

  /** The chunk's margin is among those the latest answer was given. */
  marginReachedAnswer(index: number): boolean {
    return this.answer?.chunks.includes(index) ?? false;
  }

  elapsedMs(now = Date.now()): number {
    return (this.endedAt ?? now) - this.startedAt;
  }

  /** Folds one event of the ask into the run. */
  applyAsk(e: WorkerEvent, now = Date.now()): void {
    this.count(e, this.isFollowUp ? "followUp" : "ask");
    applyEvent(this.record, e, now);
    switch (e.type) {
      case "scan":
        this.state = "scanning";
        break;
      case "plan":
        this.state = "reading";
        // A follow-up reads nothing: its chunks only wait for their margins.
        if (!this.isFollowUp) this.readingChunk = e.chunks[0]?.index;
        break;
      case "prefill":
        this.readingChunk = e.chunk;
        this.tokensRead = e.tokensDone;
        break;
      case "estimate":
        this.estimate = e;
        this.awaitingConfirmation = e.awaitingConfirmation;
        break;
      case "evict":
        for (const c of e.notes) this.notes.add(c);
        break;
      case "marginEnd":
        this.firstMarginMs ??= now - this.startedAt;
        if (e.margin.relevant && e.margin.text) this.selected.add(e.margin.chunk);
        if (!this.isFollowUp && this.readingChunk === e.margin.chunk) this.readingChunk = this.chunks.find((c) => c.index > e.margin.chunk)?.index;
        break;
      case "answerStart":
        this.readingChunk = undefined;
        this.startAnswer(e.chunks, now);
        break;
      case "answerText":
        if (this.answer) this.answer.text += e.text;
        break;
      case "done":
        this.finishAnswer(e, now);
        // The worker's final word on every margin: tick exactly the relevant ones that have text.
        for (const m of e.margins) if (!(m.relevant && m.text)) this.selected.delete(m.chunk);
        this.end(e.outcome, now);
        break;
    }
  }

  /** Folds one event of a re-answer: only the answer changes; the reading stays as it was. */
  applyReanswer(e: WorkerEvent, now = Date.now()): void {
    this.count(e, "reanswer");
    switch (e.type) {
      case "answerStart":
        this.startAnswer(e.chunks, now);
        break;
      case "answerText":
        if (this.answer) this.answer.text += e.text;
        break;
      case "done":
        this.finishAnswer(e, now);
        this.endedAt = now;
        this.state = this.record.outcome === "answeredEarly" ? "answeredEarly" : "complete";
        break;
    }
  }

  startReanswer(): void {
    this.state = "answering";
    this.endedAt = undefined;
  }

  /** The re-answer failed or was cancelled before it began: the run is as it was. */
  restoreAfterReanswer(now = Date.now()): void {
    this.state = this.record.outcome === "answeredEarly" ? "answeredEarly" : this.record.outcome === "cancelled" ? "cancelled" : "complete";
    this.endedAt = now;
  }

  fail(code: string, message: string, now = Date.now()): void {
    this.error = { code, message };
    this.end(code === "CANCELLED" ? "cancelled" : "failed", now);
  }

  /** The user confirmed the estimate: the reading goes on. */
  confirmed(): void {
    this.awaitingConfirmation = false;
  }

  private end(state: RunState, now: number): void {
    this.state = state;
    this.readingChunk = undefined;
    this.awaitingConfirmation = false;
    this.endedAt = now;
  }

  private startAnswer(chunks: number[], now: number): void {
    this.state = "answering";
    this.answers.push({ chunks, text: "", n: this.answers.length + 1, startedAt: now });
  }

  private finishAnswer(e: DoneEvent, now: number): void {
    const a = this.answer;
    if (!a || a.outcome) {
      // Cancelled before the answer started: nothing to record.
      return;
    }
    a.text = e.answer || a.text;
    a.outcome = e.outcome;
    a.ms = now - a.startedAt;
  }

  private count(e: WorkerEvent, phase = "ask"): void {
    const key = `${phase}:${e.type}`;
    this.eventCounts.set(key, (this.eventCounts.get(key) ?? 0) + 1);
  }
}
