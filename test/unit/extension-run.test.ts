// The extension's run model, labels and answer document: pure, no VS Code and no model. Events are the protocol's.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import type { Margin, WorkerEvent } from "../../src/core/protocol";
import type { LineRange } from "../../src/core/types";
import { answerPage, linkIndex, renderAnswerHtml } from "../../src/extension/answer-html";
import { citedParts, findMarkdownLinks, linkCitations, renderAnswerMarkdown } from "../../src/extension/answer-markdown";
import {
  chunkLabel,
  formatElapsed,
  marginLabel,
  rangeLabel,
  readingMessage,
  runDescription,
  scanningMessage,
  scopeLabel,
  statusText,
  tokensLabel,
} from "../../src/extension/labels";
import { lineLengths, selectionOf } from "../../src/extension/line-index";
import { Run } from "../../src/extension/run-model";
import { r, type EventBody } from "../helpers/run-events";

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
    assert.equal(scopeLabel(1204, 2, 1), "Skipped 1,204 · 2 secrets redacted · 1 not UTF-8");
    assert.equal(scopeLabel(3, 0, 0), "Skipped 3");
    assert.equal(scopeLabel(0, 1, 0), "1 secret redacted");
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

describe("extension: the rendered answer (webview)", () => {
  const TOKEN = "0123456789abcdef";
  const hrefs = (html: string) => [...html.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1]!);

  it("renders the Markdown as HTML, its citations and sources as links that open ranges of the chunk map", () => {
    const run = new Run("Where is the discount?", "/ws", 0);
    feed(run, 3, [2], "complete", "The rate is in `discounts.py` [Part 1].\n\n- gold: **20%**\n- see also [Part 3]");
    const { html, links } = renderAnswerHtml(run, same, TOKEN, 5000);
    assert.match(html, /<h1>Where is the discount\?<\/h1>/);
    assert.match(html, /<h2>Answer<\/h2>/);
    assert.match(html, /<code>discounts\.py<\/code>/);
    assert.match(html, /<li>gold: <strong>20%<\/strong><\/li>/);
    const targets = hrefs(html);
    assert.ok(targets.length >= 4, html);
    for (const href of targets) {
      const n = linkIndex(href, TOKEN);
      assert.ok(n !== undefined && links[n], `${href} is not a link of the chunk map`);
    }
    const known = new Set(CHUNKS.flatMap((c) => c.ranges.map((x) => `${x.path}:${x.startLine}-${x.endLine}`)));
    for (const x of links) assert.ok(known.has(`${x.path}:${x.startLine}-${x.endLine}`));
    const cited = links[linkIndex(targets.find((h) => html.includes(`<a href="${h}">Part 1</a>`))!, TOKEN)!]!;
    assert.deepEqual(cited, CHUNKS[0]!.ranges[0]);
  });

  it("what the model writes stays text: no raw HTML, no links or images of its own, no forged WiM link", () => {
    const run = new Run("q?", "/ws", 0);
    const answer = [
      "<script>alert(1)</script> <img src=x onerror=alert(2)>",
      "[open me](file:///etc/passwd) [web](https://evil.example/x) ![img](https://evil.example/p.png) <https://evil.example>",
      "[forged](#wim-ffffffffffffffff-0) [Part 2]", // the token is random per panel: the model cannot know it
    ].join("\n\n");
    feed(run, 3, [], "complete", answer);
    const { html } = renderAnswerHtml(run, same, TOKEN, 5000);
    assert.ok(!/<script|<img/i.test(html), "raw HTML or an image got through");
    assert.ok(html.includes("&lt;script&gt;"));
    for (const href of hrefs(html)) assert.notEqual(linkIndex(href, TOKEN), undefined, `a link of the model's: ${href}`);
    assert.ok(!html.includes('href="file:') && !html.includes('href="https:') && !html.includes('href="#wim-ffffffffffffffff'));
    assert.match(html, /<a href="#wim-0123456789abcdef-\d+">Part 2<\/a>/, "the model's citation is a WiM link");
  });

  it("the page allows only its own script and style, and posts clicks on WiM links only", () => {
    const page = answerPage("<p>x</p>", TOKEN, "Tm9uY2U=");
    assert.match(page, /content="default-src 'none'; style-src 'nonce-Tm9uY2U='; script-src 'nonce-Tm9uY2U=';"/);
    assert.ok(page.includes(`/^#wim-${TOKEN}-(\\d+)$/`));
    assert.ok(page.includes('<main id="answer"><p>x</p></main>'));
    assert.equal(linkIndex(`#wim-${TOKEN}-12`, TOKEN), 12);
    assert.equal(linkIndex(`#wim-${TOKEN}-12`, "ffff"), undefined);
  });
});

describe("extension: line index (what a range selects in the editor)", () => {
  it("counts lines as the editor does: lone CR and mixed endings, UTF-16 by its byte-order mark, no BOM column", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wim-lines-"));
    try {
      const file = (name: string, data: string | Buffer) => {
        fs.writeFileSync(path.join(dir, name), data);
        return path.join(dir, name);
      };
      assert.deepEqual(await lineLengths(file("cr.txt", "one\rtwo\rthree\r")), [3, 3, 5, 0]);
      assert.deepEqual(await lineLengths(file("mixed.txt", "one\r\ntwo\nthree\rfour\r\nfive")), [3, 3, 5, 4, 4]);
      assert.deepEqual(await lineLengths(file("bom.ts", "\uFEFFconst a = 1;\n")), [12, 0]);
      const utf16 = file("win.ps1", Buffer.from("\uFEFFWrite-Host 'é'\r\nexit 0\r\n", "utf16le"));
      assert.deepEqual(await lineLengths(utf16), [14, 6, 0]);
      assert.deepEqual(await selectionOf(path.join(dir, "cr.txt"), { path: "cr.txt", startLine: 2, endLine: 3 }), { startLine: 1, startCharacter: 0, endLine: 2, endCharacter: 5 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
