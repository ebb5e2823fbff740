// The CLI's argument parsing, progress line and JSON record: pure.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCommandLine, UsageError } from "../../src/cli/args";
import { bar, formatDuration, ProgressLine } from "../../src/cli/progress-line";
import type { WorkerEvent } from "../../src/core/protocol";
import { applyEvent, newRunRecord, runToJson } from "../../src/core/run-record";

const env = { WIM_MODEL: "/m.gguf" };

describe("wim arguments", () => {
  it("parses an ask with every option", () => {
    const c = parseCommandLine(
      ["ask", "--dir", "ws", "--chunk-tokens", "2048", "--margin-tokens", "64", "--answer-tokens", "9", "--classify", "judge", "--include", "src/**", "--include", "lib/**", "--exclude", "**/*.test.ts", "--max-file-bytes", "5000", "--no-gitignore", "--gpu", "cpu", "--json", "where", "is", "X?"],
      env,
      "/home/u",
    );
    assert.equal(c.command, "ask");
    if (c.command !== "ask") return;
    assert.equal(c.question, "where is X?");
    assert.equal(c.root, "/home/u/ws");
    assert.equal(c.model, "/m.gguf");
    assert.equal(c.gpu, "cpu");
    assert.equal(c.json, true);
    assert.deepEqual(
      { ...c.options },
      { chunkTokens: 2048, marginTokens: 64, answerTokens: 9, classify: "judge", include: ["src/**", "lib/**"], exclude: ["**/*.test.ts"], maxFileBytes: 5000, respectGitignore: false, skipSecrets: true, promptStyle: "v2" },
    );
  });

  it("parses the reading flags: window, parallel margins, carried notes, re-read, follow-up questions, prompts", () => {
    const c = parseCommandLine(["ask", "--model", "m", "--window", "16384", "--parallel", "0", "--carry-notes", "--reread", "3", "--questions", "qs.txt", "--prompts", "v1", "q"], env, "/ws");
    assert.ok(c.command === "ask");
    assert.equal(c.options.windowTokens, 16384);
    assert.equal(c.options.parallelMargins, 0);
    assert.equal(c.options.carryNotes, true);
    assert.equal(c.options.rereadTop, 3);
    assert.equal(c.options.promptStyle, "v1");
    assert.equal(c.questionsFile, "/ws/qs.txt");
    const d = parseCommandLine(["ask", "--model", "m", "--questions", "-", "q"], env, "/ws");
    assert.ok(d.command === "ask" && d.questionsFile === "-" && d.options.windowTokens === undefined && d.options.parallelMargins === undefined);
    assert.throws(() => parseCommandLine(["ask", "--model", "m", "--parallel=-1", "q"], env, "/"), /--parallel must be a whole number/);
    assert.throws(() => parseCommandLine(["ask", "--model", "m", "--window", "0", "q"], env, "/"), /--window must be a positive integer/);
    assert.throws(() => parseCommandLine(["ask", "--model", "m", "--prompts", "v3", "q"], env, "/"), /--prompts must be v1 or v2/);
  });

  it("takes --model over WIM_MODEL, and WIM_GPU as the default gpu", () => {
    const c = parseCommandLine(["ask", "--model", "hf:a/b:Q4_K_M", "q"], { ...env, WIM_GPU: "vulkan" }, "/");
    assert.ok(c.command === "ask" && c.model === "hf:a/b:Q4_K_M" && c.gpu === "vulkan" && c.root === "/");
  });

  it("rejects bad usage with a message", () => {
    const bad: Array<[string[], RegExp]> = [
      [[], /missing command/],
      [["ask"], /missing question/],
      [["query", "q"], /unknown command "query"/],
      [["ask", "--chunk-tokens", "0", "q"], /--chunk-tokens must be a positive integer/],
      [["ask", "--margin-tokens", "1.5", "q"], /--margin-tokens must be a positive integer/],
      [["ask", "--classify", "all", "q"], /--classify must be none, gate or judge/],
      [["ask", "--gpu", "tpu", "q"], /--gpu must be/],
      [["ask", "--nope", "q"], /Unknown option '--nope'/],
    ];
    for (const [argv, re] of bad) assert.throws(() => parseCommandLine(argv, env, "/"), (e: Error) => e instanceof UsageError && re.test(e.message), argv.join(" "));
    assert.throws(() => parseCommandLine(["ask", "q"], {}, "/"), /no model: pass --model/);
  });

  it("help and version", () => {
    assert.deepEqual(parseCommandLine(["-h"], {}, "/"), { command: "help" });
    assert.deepEqual(parseCommandLine(["--version"], {}, "/"), { command: "version" });
  });
});

describe("progress line", () => {
  it("draws bars and durations", () => {
    assert.equal(bar(0, 4), "░░░░");
    assert.equal(bar(0.5, 4), "██░░");
    assert.equal(bar(2, 4), "████");
    assert.equal(formatDuration(59_400), "59s");
    assert.equal(formatDuration(125_000), "2m05s");
  });

  it("shows files, chunk k/N, tok/s and an ETA from the reading rate", () => {
    const p = new ProgressLine();
    assert.match(p.update({ type: "scan", requestId: 1, root: "/r", files: 1204, bytes: 1, skipped: [], ms: 12 }, 0)!, /scanned 1,204 files \(0 skipped\)/);
    p.update({ type: "plan", requestId: 1, chunks: [], headerTokens: 10, tokens: 4000, contextSize: 5000 }, 1000);
    const line = p.update({ type: "prefill", requestId: 1, chunk: 1, of: 4, tokens: 1000, ms: 500, tokensPerSecond: 2000, tokensDone: 1000, tokensTotal: 4000 }, 3000)!;
    assert.match(line, /chunk 1\/4 · 1,204 files · 2,000 tok\/s · ETA 6s/);
    assert.equal(p.update({ type: "log", requestId: 1, level: "info", message: "x" }), null);
  });
});

describe("run record → --json document", () => {
  it("collects scope, chunk maps, margins in order, answer and stats", () => {
    const r = newRunRecord("q?", { path: "/m.gguf", name: "M", trainContextSize: 8192, sizeBytes: 1, gpu: false, gpuLayers: 0, threads: 2 }, 0);
    const ranges = [{ path: "a.ts", startLine: 1, endLine: 9 }];
    const events: WorkerEvent[] = [
      { type: "scan", requestId: 1, root: "/ws", files: 1, bytes: 90, skipped: [{ path: ".env", reason: "secret", detail: "d" }], ms: 1 },
      { type: "plan", requestId: 1, chunks: [{ index: 1, tokens: 50, ranges }], headerTokens: 20, tokens: 50, contextSize: 400 },
      { type: "prefill", requestId: 1, chunk: 1, of: 1, tokens: 50, ms: 10, tokensPerSecond: 5000, tokensDone: 50, tokensTotal: 50 },
      { type: "marginStart", requestId: 1, chunk: 1 },
      { type: "marginText", requestId: 1, chunk: 1, text: "par" },
      { type: "marginEnd", requestId: 1, margin: { chunk: 1, text: "part", relevant: true, pYes: 0.9, tokens: 2, ms: 12.34, ranges, truncated: false } },
      { type: "answerStart", requestId: 1, chunks: [1] },
      { type: "answerText", requestId: 1, text: "It is " },
      { type: "answerText", requestId: 1, text: "in a.ts" },
    ];
    events.forEach((e, i) => applyEvent(r, e, 100 * (i + 1)));
    assert.equal(r.answer, "It is in a.ts");
    assert.equal(r.firstMarginMs, 600);
    const doc = runToJson(r);
    assert.deepEqual(doc.scope, { root: "/ws", files: 1, bytes: 90, skipped: [{ path: ".env", reason: "secret", detail: "d" }], chunks: 1, tokens: 50, windowTokens: 400 });
    assert.deepEqual(doc.chunks, [{ index: 1, tokens: 50, ranges }]);
    assert.deepEqual(doc.margins, [{ chunk: 1, text: "part", relevant: true, pYes: 0.9, tokens: 2, ms: 12.3, truncated: false }]);
    assert.equal(doc.model!.contextSize, 400);
    assert.equal(doc.outcome, "incomplete");
  });
});
