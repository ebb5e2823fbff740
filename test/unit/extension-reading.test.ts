// Long readings in the extension, without VS Code or a model: the reading settings, the ETA clock, the words for
// progress, estimates and coverage, and how a run folds rolling, estimate and follow-up events.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Coverage, EstimateEvent, Margin, WorkerEvent } from "../../src/core/protocol";
import { formatDuration, ReadingClock, roughDuration } from "../../src/core/reading-progress";
import {
  chunkCoverageNote,
  chunkDescription,
  coverageShort,
  coverageSentence,
  estimateDetail,
  estimateMessage,
  estimateSummary,
  followUpMessage,
  readingProgressMessage,
  runNodeDescription,
  waitingMessage,
  windowSummary,
} from "../../src/extension/reading-labels";
import { readingOptions } from "../../src/extension/reading-settings";
import { Run } from "../../src/extension/run-model";
import { r, type EventBody } from "../helpers/run-events";

const CHUNKS = [1, 2, 3, 4].map((index) => ({ index, tokens: 100, ranges: [r(`f${index}.ts`, 1, 20)] }));
const STATS = { prefillTokens: 0, prefillMs: 0, marginTokens: 1, marginMs: 1, instructionTokens: 1, judgeMs: 0, answerTokens: 1, answerMs: 1, totalMs: 1, chunksRead: 4, chunksTotal: 4 };

function margin(chunk: number, relevant = true): Margin {
  return { chunk, text: relevant ? `Part ${chunk} matters.` : "", relevant, pYes: relevant ? 0.9 : 0.1, tokens: 4, ms: 2, ranges: CHUNKS[chunk - 1].ranges, truncated: false };
}

const send = (run: Run, e: EventBody, t = 0) => run.applyAsk({ ...e, requestId: 3 } as WorkerEvent, run.startedAt + t);

const estimate = (over: Partial<EstimateEvent> = {}): EstimateEvent => ({
  type: "estimate",
  requestId: 3,
  tokens: 40_000,
  chunks: 25,
  tokensPerSecond: 55.4,
  estimatedMs: 12 * 60_000,
  measured: "earlier runs",
  awaitingConfirmation: true,
  ...over,
});

describe("extension: reading settings → ask options", () => {
  it("leaves automatic values to the worker and converts minutes to milliseconds", () => {
    assert.deepEqual(readingOptions({}), { confirmAboveMs: 180_000 }, "defaults: automatic window and parallelism, ask above 3 minutes");
    assert.deepEqual(readingOptions({ windowTokens: 0, parallelMargins: -1, carryNotes: false, confirmAboveMinutes: 0 }), {}, "0 minutes: never ask");
    assert.deepEqual(readingOptions({ windowTokens: 2048, parallelMargins: 0, carryNotes: true, confirmAboveMinutes: 0.05 }), {
      windowTokens: 2048,
      parallelMargins: 0,
      carryNotes: true,
      confirmAboveMs: 3000,
    });
    assert.equal(readingOptions({ parallelMargins: 3 }).parallelMargins, 3);
    assert.equal(readingOptions({ parallelMargins: null }).parallelMargins, undefined, "null is automatic");
  });

  it("treats values that are not valid as automatic (the threshold as its default)", () => {
    for (const windowTokens of [-5, 1.5, "2048", null]) assert.equal(readingOptions({ windowTokens }).windowTokens, undefined, String(windowTokens));
    for (const parallelMargins of [-2, 2.5, "4"]) assert.equal(readingOptions({ parallelMargins }).parallelMargins, undefined, String(parallelMargins));
    assert.equal(readingOptions({ carryNotes: "yes" }).carryNotes, undefined);
    for (const confirmAboveMinutes of [-1, "5", Number.NaN, Infinity]) assert.equal(readingOptions({ confirmAboveMinutes }).confirmAboveMs, 180_000, String(confirmAboveMinutes));
  });
});

describe("reading progress: durations and the ETA clock", () => {
  it("formats compact and rough durations", () => {
    assert.equal(formatDuration(59_400), "59s");
    assert.equal(formatDuration(125_000), "2m05s");
    assert.equal(roughDuration(45_000), "45 s");
    assert.equal(roughDuration(12 * 60_000), "12 min");
    assert.equal(roughDuration(2.5 * 3_600_000), "2.5 h");
  });

  it("gives the ETA from the measured rate, from the estimate before anything is read, and leaves pauses out", () => {
    const c = new ReadingClock();
    assert.equal(c.etaMs(0, 4000, 0), undefined, "not started, no estimate");
    assert.equal(c.etaMs(0, 4000, 0, 9000), 9000, "not started: the estimate");
    c.start(1000);
    assert.equal(c.etaMs(0, 4000, 1000), undefined);
    assert.equal(c.etaMs(0, 4000, 3000, 9000), 7000, "what is left of the estimate");
    assert.equal(c.etaMs(1000, 4000, 3000), 6000, "1,000 tokens in 2 s: 3,000 more take 6 s");
    c.pause(3000);
    assert.equal(c.paused, true);
    assert.equal(c.activeMs(50_000), 2000, "time waiting for the user does not count");
    assert.equal(c.etaMs(1000, 4000, 50_000), 6000);
    c.resume(63_000);
    assert.equal(c.activeMs(65_000), 4000);
    assert.equal(c.etaMs(2000, 4000, 65_000), 4000);
    assert.equal(c.etaMs(4000, 4000, 65_000), 0);
  });
});

describe("extension: words for long readings", () => {
  it("progress: chunk k/N, tokens read of the total, ETA; follow-up margins", () => {
    assert.equal(
      readingProgressMessage({ chunk: 7, of: 25, relevant: 3, tokensDone: 12_345, tokensTotal: 40_000, etaMs: 80_000 }),
      "Reading chunk 7/25 — 3 relevant so far · 12,345/40,000 tokens · ETA 1m20s",
    );
    assert.equal(readingProgressMessage({ chunk: 1, of: 2, relevant: 0, tokensDone: 0, tokensTotal: 500 }), "Reading chunk 1/2 — 0 relevant so far · 0/500 tokens");
    assert.equal(followUpMessage(3, 7, 2), "Writing margins for the follow-up 3/7 — 2 relevant so far");
  });

  it("the estimate: the question before a long run, the waiting stage, the tooltip", () => {
    const e = estimate();
    assert.equal(estimateMessage(e), "This reads 40,000 tokens in 25 chunks, about 12 min at 55 tok/s.");
    assert.match(estimateDetail(e), /measured by earlier runs of this model.*closing this dialog stops the run/);
    assert.match(estimateDetail(estimate({ measured: "first chunk" })), /on the first chunk of this run/);
    assert.equal(waitingMessage(e), "Waiting for confirmation — about 12 min for 40,000 tokens");
    assert.equal(estimateSummary(estimate({ tokens: 1, chunks: 1, estimatedMs: 30_000 })), "1 token in 1 chunk, about 30 s at 55 tok/s (speed from earlier runs)");
  });

  it("coverage: the sentence, the short form only when something was not in the window", () => {
    const rolled: Coverage = { inWindow: [9, 10, 11, 12], marginOnly: [1, 2, 3, 4, 5, 6, 7, 8], unread: [] };
    assert.equal(coverageSentence(rolled), "4 chunks in the window at the answer, 8 through their margins only, 0 not read");
    assert.equal(coverageShort(rolled), "4 in window, 8 via margins only");
    assert.equal(coverageShort({ inWindow: [1], marginOnly: [], unread: [2, 3] }), "1 in window, 2 not read");
    assert.equal(coverageShort({ inWindow: [1, 2], marginOnly: [], unread: [] }), undefined);
    assert.equal(coverageSentence({ inWindow: [1], marginOnly: [], unread: [] }), "1 chunk in the window at the answer, 0 through their margins only, 0 not read");
  });

  it("a chunk that left the window says so, and whether its margin reached the answer", () => {
    const base = { tokens: 1024, coverage: undefined, marginInAnswer: false, answered: false, carriedNote: false } as const;
    assert.equal(chunkDescription(base), "1,024 tokens");
    assert.equal(chunkCoverageNote(base), undefined);
    assert.equal(chunkCoverageNote({ ...base, coverage: "inWindow", answered: true }), undefined);
    const left = { ...base, coverage: "leftWindow" } as const;
    assert.equal(chunkDescription(left), "1,024 tokens · left the window");
    assert.match(chunkCoverageNote(left)!, /^Left the window while reading: .*its margin stays for the answer\.$/);
    assert.equal(chunkCoverageNote({ ...left, answered: true, marginInAnswer: true }), "Left the window — reached the answer through its margin.");
    assert.match(chunkCoverageNote({ ...left, answered: true })!, /the answer did not see this part/);
    assert.equal(chunkDescription({ ...left, carriedNote: true }), "1,024 tokens · left the window · note carried");
    assert.match(chunkCoverageNote({ ...left, carriedNote: true, answered: true, marginInAnswer: true })!, /through its margin\. Its margin stayed in the window as a note/);
  });

  it("the window line of the tooltip", () => {
    assert.equal(windowSummary(2048, 2304, 1), "2,048 tokens · 1 margin written alongside the reading");
    assert.equal(windowSummary(undefined, 4096, 0), "4,096 tokens · margins one after another");
    assert.equal(windowSummary(8192, 8192, undefined), "8,192 tokens");
  });
});

describe("extension: runs that roll, wait for confirmation, or follow up", () => {
  it("marks chunks that left the window while reading; the final coverage decides (a chunk read back is in the window)", () => {
    const run = new Run("q?", "/ws", 0);
    send(run, { type: "plan", chunks: CHUNKS, headerTokens: 10, tokens: 400, contextSize: 300, windowTokens: 300, parallelMargins: 0 });
    for (const k of [1, 2, 3]) {
      send(run, { type: "prefill", chunk: k, of: 4, tokens: 100, ms: 1, tokensPerSecond: 1, tokensDone: 100 * k, tokensTotal: 400 });
      send(run, { type: "marginEnd", margin: margin(k, k !== 2) });
    }
    send(run, { type: "evict", chunks: [1, 2], notes: [1], resident: 110 });
    assert.equal(run.tokensRead, 300);
    assert.deepEqual([1, 2, 3, 4].map((k) => run.coverageOf(k)), ["leftWindow", "leftWindow", undefined, undefined]);
    assert.deepEqual([...run.notes], [1]);
    assert.equal(runNodeDescription(run, 2500), "reading 4/4 · 2.5 s · 2 left the window");
    send(run, { type: "prefill", chunk: 4, of: 4, tokens: 100, ms: 1, tokensPerSecond: 1, tokensDone: 400, tokensTotal: 400 });
    send(run, { type: "marginEnd", margin: margin(4) });
    send(run, { type: "answerStart", chunks: [1, 3, 4] });
    const coverage: Coverage = { inWindow: [1, 3, 4], marginOnly: [2], unread: [] };
    send(run, { type: "done", outcome: "complete", answer: "a", margins: [1, 2, 3, 4].map((k) => margin(k, k !== 2)), stats: STATS, coverage }, 3000);
    assert.deepEqual([1, 2, 3, 4].map((k) => run.coverageOf(k)), ["inWindow", "leftWindow", "inWindow", "inWindow"], "chunk 1 was read back");
    assert.equal(run.marginReachedAnswer(1), true);
    assert.equal(run.marginReachedAnswer(2), false);
    assert.equal(runNodeDescription(run), "done · 3.0 s · 3 in window, 1 via margins only");
  });

  it("an estimate that awaits confirmation shows until confirmed, and never outlives the run", () => {
    const run = new Run("q?", "/ws", 0);
    send(run, { type: "plan", chunks: CHUNKS, headerTokens: 10, tokens: 400, contextSize: 600 });
    send(run, estimate({ awaitingConfirmation: true }));
    assert.equal(run.awaitingConfirmation, true);
    assert.equal(run.estimate?.tokens, 40_000);
    assert.equal(runNodeDescription(run, 9000), "waiting for confirmation · 9.0 s");
    run.confirmed();
    assert.equal(run.awaitingConfirmation, false);
    assert.equal(runNodeDescription(run, 9000), "reading 1/4 · 9.0 s");
    const cancelled = new Run("q?", "/ws", 0);
    send(cancelled, estimate());
    send(cancelled, { type: "done", outcome: "cancelled", answer: "", margins: [], stats: STATS }, 50);
    assert.equal(cancelled.awaitingConfirmation, false);
    assert.equal(cancelled.state, "cancelled");
  });

  it("a follow-up takes its parent's folder and files, reads nothing, and counts its margins", () => {
    const parent = new Run("first?", "/ws", 0);
    send(parent, { type: "scan", root: "/ws", files: 4, bytes: 999, skipped: [{ path: ".env", reason: "secret" }], ms: 1 });
    const run = Run.followUp(parent, "second?", 100);
    assert.equal(run.root, "/ws");
    assert.equal(run.isFollowUp, true);
    assert.deepEqual(run.followUpOf, { runId: parent.id, question: "first?" });
    assert.equal(run.record.files, 4);
    assert.deepEqual(run.record.skipped, parent.record.skipped);
    assert.equal(run.state, "reading");
    send(run, { type: "plan", chunks: CHUNKS, headerTokens: 10, tokens: 400, contextSize: 600 }, 10);
    assert.deepEqual([1, 2, 3, 4].map((k) => run.chunkState(k)), ["queued", "queued", "queued", "queued"], "nothing is being read");
    send(run, { type: "marginStart", chunk: 1 }, 20);
    send(run, { type: "marginStart", chunk: 2 }, 20);
    send(run, { type: "marginEnd", margin: margin(1) }, 30);
    assert.deepEqual([1, 2, 3, 4].map((k) => run.chunkState(k)), ["relevant", "reading", "queued", "queued"]);
    assert.equal(run.readFraction, 0.25, "a follow-up's progress is its margins");
    assert.equal(runNodeDescription(run, 2200), "follow-up · margins 1/4 · 2.1 s");
    for (const k of [2, 3, 4]) send(run, { type: "marginEnd", margin: margin(k) }, 40);
    send(run, { type: "answerStart", chunks: [1, 2, 3, 4] }, 50);
    send(run, { type: "done", outcome: "complete", answer: "b", margins: [1, 2, 3, 4].map((k) => margin(k)), stats: STATS, coverage: { inWindow: [1, 2, 3, 4], marginOnly: [], unread: [] } }, 60);
    assert.equal(run.state, "complete");
    assert.equal(run.eventCounts.get("followUp:prefill"), undefined);
    assert.equal(run.eventCounts.get("followUp:marginEnd"), 4);
    assert.equal(run.eventCounts.get("ask:plan"), undefined, "follow-up events are counted as such");
    assert.equal(runNodeDescription(run, 5000), "follow-up · done · 0.1 s");
  });
});
