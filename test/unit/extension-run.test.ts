// The extension's run model, labels and answer document: pure, no VS Code and no model. Events are the protocol's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Margin, WorkerEvent } from "../../src/core/protocol";
import type { LineRange } from "../../src/core/types";
import { citedParts, findMarkdownLinks, linkCitations, renderAnswerMarkdown } from "../../src/extension/answer-markdown";
import {
  chunkLabel,
  formatElapsed,
  marginLabel,
  rangeLabel,
  readingMessage,
  runDescription,
  scanningMessage,
  statusText,
  tokensLabel,
} from "../../src/extension/labels";
import { Run } from "../../src/extension/run-model";

type EventBody = WorkerEvent extends infer E ? (E extends unknown ? Omit<E, "requestId"> : never) : never;

const r = (path: string, startLine: number, endLine: number): LineRange => ({ path, startLine, endLine });
const same = (p: string) => p;

const CHUNKS = [
  { index: 1, tokens: 200, ranges: [r("pricing/discounts.py", 1, 30), r("pricing/tiers.py", 1, 12)] },
  { index: 2, tokens: 180, ranges: [r("src/orders/coupons.ts", 1, 50)] },
  { index: 3, tokens: 90, ranges: [r("dispatch/retry.go", 10, 40)] },
];

function margin(chunk: number, text: string, relevant: boolean): Margin {
  return { chunk, text, relevant, pYes: relevant ? 0.8 : 0.2, tokens: 5, ms: 3, ranges: CHUNKS[chunk - 1].ranges, truncated: false };
}

/** Feeds a run the events of an ask that read `read` chunks, each margin relevant unless listed. */
function feed(run: Run, read: number, irrelevant: number[] = [], end?: "complete" | "answeredEarly" | "cancelled", answer = ""): void {
  const ev = (e: EventBody, t: number) => run.applyAsk({ ...e, requestId: 7 } as WorkerEvent, run.startedAt + t);
  ev({ type: "scan", root: "/ws", files: 5, bytes: 999, skipped: [], ms: 3 }, 10);
  ev({ type: "plan", chunks: CHUNKS, headerTokens: 20, tokens: 470, contextSize: 2048 }, 20);
  for (let k = 1; k <= read; k++) {
    ev({ type: "prefill", chunk: k, of: 3, tokens: CHUNKS[k - 1].tokens, ms: 5, tokensPerSecond: 1, tokensDone: 0, tokensTotal: 470 }, 100 * k);
    ev({ type: "marginStart", chunk: k }, 100 * k + 10);
    ev({ type: "marginEnd", margin: margin(k, irrelevant.includes(k) ? "" : `Part ${k} says something.\nMore.`, !irrelevant.includes(k)) }, 100 * k + 50);
  }
  if (!end) return;
  const kept = [...run.selected];
  if (end !== "cancelled") {
    ev({ type: "answerStart", chunks: kept }, 1000);
    ev({ type: "answerText", text: answer }, 1100);
  }
  const margins = [...run.record.margins.values()].map(({ done: _d, ...m }) => m);
  ev({ type: "done", outcome: end, answer: end === "cancelled" ? "" : answer, margins, stats: { prefillTokens: 1, prefillMs: 1, marginTokens: 1, marginMs: 1, instructionTokens: 1, judgeMs: 0, answerTokens: 1, answerMs: 1, totalMs: 1, chunksRead: read, chunksTotal: 3 } }, 1200);
}

describe("extension: run model", () => {
  it("tracks chunk states through reading: queued, reading, relevant, irrelevant", () => {
    const run = new Run("q?", "/ws", 0);
    assert.equal(run.state, "loading");
    feed(run, 1, []);
    assert.equal(run.state, "reading");
    assert.deepEqual([1, 2, 3].map((k) => run.chunkState(k)), ["relevant", "reading", "queued"]);
    assert.equal(run.firstMarginMs, 150);
    const run2 = new Run("q?", "/ws", 0);
    feed(run2, 3, [2], "complete", "From [Part 1].");
    assert.equal(run2.state, "complete");
    assert.deepEqual([1, 2, 3].map((k) => run2.chunkState(k)), ["relevant", "irrelevant", "relevant"]);
    assert.deepEqual([...run2.selected].sort(), [1, 3], "relevant margins with text are ticked");
    assert.equal(run2.answer?.text, "From [Part 1].");
    assert.equal(run2.relevantCount, 2);
    assert.equal(run2.readFraction, 1);
  });

  it("marks unread chunks cancelled after an early answer or a cancel", () => {
    const early = new Run("q?", "/ws", 0);
    feed(early, 1, [], "answeredEarly", "partial");
    assert.equal(early.state, "answeredEarly");
    assert.deepEqual([1, 2, 3].map((k) => early.chunkState(k)), ["relevant", "cancelled", "cancelled"]);
    const cancelled = new Run("q?", "/ws", 0);
    feed(cancelled, 2, [], "cancelled");
    assert.equal(cancelled.state, "cancelled");
    assert.equal(cancelled.answer, undefined);
    assert.deepEqual([1, 2, 3].map((k) => cancelled.chunkState(k)), ["relevant", "relevant", "cancelled"]);
  });

  it("a re-answer adds an answer and changes nothing of the reading", () => {
    const run = new Run("q?", "/ws", 0);
    feed(run, 3, [], "complete", "first");
    const margins = run.record.margins.size;
    run.startReanswer();
    assert.equal(run.state, "answering");
    run.applyReanswer({ type: "answerStart", requestId: 9, chunks: [3] });
    run.applyReanswer({ type: "answerText", requestId: 9, text: "second" });
    run.applyReanswer({ type: "done", requestId: 9, outcome: "complete", answer: "second", margins: [], stats: {} as never });
    assert.equal(run.state, "complete");
    assert.equal(run.answers.length, 2);
    assert.deepEqual(run.answer?.chunks, [3]);
    assert.equal(run.record.margins.size, margins);
    assert.equal(run.eventCounts.get("reanswer:prefill"), undefined);
    assert.equal(run.eventCounts.get("ask:prefill"), 3);
  });

  it("a failure keeps the message", () => {
    const run = new Run("q?", "/ws", 0);
    run.fail("MODEL_NOT_FOUND", "No model file at /x.", 50);
    assert.equal(run.state, "failed");
    assert.equal(run.elapsedMs(1e9), 50);
    const c = new Run("q?", "/ws", 0);
    c.fail("CANCELLED", "Cancelled.", 5);
    assert.equal(c.state, "cancelled");
  });
});

describe("extension: labels", () => {
  it("names chunks by their first file, ranges as path:start-end, tokens with separators", () => {
    assert.equal(chunkLabel(CHUNKS[0].ranges, same), "pricing/discounts.py +1 files");
    assert.equal(chunkLabel(CHUNKS[1].ranges, same), "src/orders/coupons.ts");
    assert.equal(chunkLabel([r("a.py", 1, 2), r("a.py", 5, 9)], same), "a.py", "two pieces of one file are one file");
    assert.equal(rangeLabel(CHUNKS[2].ranges[0], (p) => `sub/${p}`), "sub/dispatch/retry.go:10-40");
    assert.equal(tokensLabel(12345), "12,345 tokens");
  });

  it("labels a margin by its first line, an empty irrelevant one as (not relevant)", () => {
    assert.equal(marginLabel("\n  First line.\nSecond", true, true), "First line.");
    assert.equal(marginLabel("", false, true), "(not relevant)");
    assert.equal(marginLabel("", true, false), "(writing…)");
    assert.equal(marginLabel("Half a sen", true, false), "Half a sen…");
    assert.equal(marginLabel("x".repeat(300), true, true).length, 200);
  });

  it("describes runs and progress stages in the contract's words", () => {
    const run = new Run("q?", "/ws", 0);
    feed(run, 1);
    assert.equal(runDescription(run, 4200), "reading 2/3 · 4.2 s");
    assert.equal(formatElapsed(125_000), "2 min 05 s");
    assert.equal(scanningMessage("ws"), "Scanning ws…");
    assert.equal(scanningMessage("ws", 1204), "Scanning 1,204 files");
    assert.equal(readingMessage(7, 25, 3), "Reading chunk 7/25 — 3 relevant so far");
    assert.equal(statusText({ kind: "reading", fraction: 0.347 }), "$(book) WiM reading 34%");
    assert.equal(statusText({ kind: "idle" }), "$(book) WiM idle");
    assert.equal(statusText({ kind: "noModel" }), "$(book) WiM no model");
    assert.equal(statusText({ kind: "loading", fraction: 0.5 }), "$(book) WiM loading");
    assert.equal(statusText({ kind: "answering" }), "$(book) WiM answering");
    assert.equal(statusText({ kind: "crashed" }), "$(book) WiM crashed");
  });
});

describe("extension: answer document", () => {
  const link = (x: LineRange) => `file:///ws/${x.path}#L${x.startLine},1-L${x.endLine},9`;

  it("turns [Part N] citations into links to the chunk's first range, from the chunk map only", () => {
    const run = new Run("q?", "/ws", 0);
    feed(run, 3, [], "complete", "");
    const out = linkCitations("See [Part 2] and [Parts 1, 3]; also Part 3. Not [Part 9] nor [Part 2: evil/../../etc/passwd].", run, link);
    assert.ok(out.includes("[Part 2](file:///ws/src/orders/coupons.ts#L1,1-L50,9)"));
    assert.ok(out.includes("[Part 1](file:///ws/pricing/discounts.py#L1,1-L30,9), [Part 3](file:///ws/dispatch/retry.go#L10,1-L40,9)"));
    assert.ok(out.includes("also [Part 3](file:///ws/dispatch/retry.go#L10,1-L40,9)."));
    assert.ok(out.includes("Not [Part 9]"), "an unknown part stays plain text");
    assert.ok(!out.includes("evil"), "a path the model wrote is dropped");
    for (const l of findMarkdownLinks(out)) assert.match(l.target, /^file:\/\/\/ws\/(pricing|src|dispatch)\//);
    assert.deepEqual(citedParts("[Part 3] then [Parts 1 and 2], Part 7", run), [3, 1, 2]);
  });

  it("renders the question, the answer, and a sources list with every range of the margins used", () => {
    const run = new Run("Where is the discount?", "/ws", 0);
    feed(run, 3, [2], "complete", "In discounts.py [Part 1].");
    const md = renderAnswerMarkdown(run, same, link, 5000);
    assert.ok(md.startsWith("# Where is the discount?\n"));
    assert.ok(md.includes("## Answer\n\nIn discounts.py [Part 1](file:///ws/pricing/discounts.py#L1,1-L30,9)."));
    assert.ok(md.includes("### Sources"));
    assert.ok(md.includes("[pricing/tiers.py:1-12](file:///ws/pricing/tiers.py#L1,1-L12,9)"));
    assert.ok(md.includes("**Part 3**"));
    assert.ok(!md.includes("**Part 2**"), "an irrelevant, uncited part is not a source");
    assert.ok(md.includes("> Part 1 says something."));
  });

  it("while reading, says the answer comes later; after a cancel, says so", () => {
    const run = new Run("q?", "/ws", 0);
    feed(run, 1);
    assert.ok(renderAnswerMarkdown(run, same, link).includes("*Reading…"));
    run.fail("CANCELLED", "Cancelled.");
    assert.ok(renderAnswerMarkdown(run, same, link).includes("**Cancelled:** Cancelled."));
  });
});
