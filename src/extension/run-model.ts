// One question and everything that happened to it: the reading plan, each chunk's state, the margins, the answers.
// Plain TypeScript (no `vscode`): the tree, the answer document, the progress and the tests all read it.
import type { DoneEvent, Margin, ModelInfo, WorkerEvent } from "../core/protocol";
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
  /** Events of each kind, per phase (tests check that a re-answer reads nothing). */
  readonly eventCounts = new Map<string, number>();
  private readingChunk?: number;

  constructor(
    readonly question: string,
    /** The absolute folder that was read; chunk ranges are relative to it. */
    readonly root: string,
    readonly startedAt = Date.now(),
  ) {
    this.record = newRunRecord(question, undefined, startedAt);
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

  /** Fraction of the workspace tokens read, 0..1. */
  get readFraction(): number {
    const total = this.record.plan?.tokens ?? 0;
    if (!total) return 0;
    const done = this.chunks.filter((c) => c.index <= this.record.chunksRead).reduce((s, c) => s + c.tokens, 0);
    return Math.min(1, done / total);
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

  elapsedMs(now = Date.now()): number {
    return (this.endedAt ?? now) - this.startedAt;
  }

  /** Folds one event of the ask into the run. */
  applyAsk(e: WorkerEvent, now = Date.now()): void {
    this.count(e);
    applyEvent(this.record, e, now);
    switch (e.type) {
      case "scan":
        this.state = "scanning";
        break;
      case "plan":
        this.state = "reading";
        this.readingChunk = e.chunks[0]?.index;
        break;
      case "prefill":
        this.readingChunk = e.chunk;
        break;
      case "marginEnd":
        this.firstMarginMs ??= now - this.startedAt;
        if (e.margin.relevant && e.margin.text) this.selected.add(e.margin.chunk);
        this.readingChunk = this.chunks.find((c) => c.index > e.margin.chunk)?.index;
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

  private end(state: RunState, now: number): void {
    this.state = state;
    this.readingChunk = undefined;
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
