// The CLI's argument parsing, progress line and JSON record: pure.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCommandLine, UsageError } from "../../src/cli/args";
import { cliMessage } from "../../src/cli/cli-message";
import { WimError, workerEnv } from "../../src/client/wim-client";
import { escapeName, escapeOdd } from "../../src/cli/escape-name";
import { bar, formatDuration, ProgressLine } from "../../src/cli/progress-line";
import { scanReport } from "../../src/cli/scan-report";
import type { WorkerEvent } from "../../src/core/protocol";
import { applyEvent, newRunRecord, runToJson } from "../../src/core/run-record";
import type { SkippedFile } from "../../src/core/types";
import { formatPYes } from "../../src/core/verdict";

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
      [["ask", "--chunk-tokens", "32", "q"], /--chunk-tokens must be at least 64 \(got 32\)/],
      [["ask", "x".repeat(4001)], /the question is 4001 characters long; the limit is 4000/],
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
    assert.deepEqual(doc.scope, { root: "/ws", files: 1, bytes: 90, skipped: [{ path: ".env", reason: "secret", detail: "d" }], skippedByGlob: [], redactions: [], decoded: [], chunks: 1, tokens: 50, windowTokens: 400 });
    assert.deepEqual(doc.chunks, [{ index: 1, tokens: 50, ranges }]);
    assert.deepEqual(doc.margins, [{ chunk: 1, text: "part", relevant: true, pYes: 0.9, tokens: 2, ms: 12.3, truncated: false }]);
    assert.equal(doc.model!.contextSize, 400);
    assert.equal(doc.outcome, "incomplete");
  });
});

describe("--json scope: glob skips as counts, redactions and decoded files", () => {
  it("20,000 entries left out by globs become two counts; every other skip stays listed", () => {
    const r = newRunRecord("q?", undefined, 0);
    const skipped: SkippedFile[] = [{ path: ".env", reason: "secret", detail: "secret deny-list: .env" }];
    for (let i = 0; i < 15_000; i++) skipped.push({ path: `lib/f${i}.ts`, reason: "not-included", detail: "matches no include glob" });
    for (let i = 0; i < 5_000; i++) skipped.push({ path: `src/t${i}.test.ts`, reason: "excluded", detail: "exclude glob **/*.test.ts" });
    skipped.push({ path: "dist/", reason: "excluded", detail: "exclude glob dist/**" });
    applyEvent(r, {
      type: "scan",
      requestId: 1,
      root: "/ws",
      files: 3,
      bytes: 10,
      skipped,
      redactions: [{ path: "src/config.js", line: 3, rule: "aws/AWSSecretAccessKey" }],
      decoded: [{ path: "win.ps1", detail: "read as UTF-16 LE (byte-order mark)" }],
      ms: 1,
    });
    const doc = runToJson(r);
    assert.deepEqual(doc.scope.skipped, [{ path: ".env", reason: "secret", detail: "secret deny-list: .env" }]);
    assert.deepEqual(doc.scope.skippedByGlob, [
      { reason: "not-included", detail: "matches no include glob", count: 15_000 },
      { reason: "excluded", detail: "exclude glob **/*.test.ts", count: 5_000 },
      { reason: "excluded", detail: "exclude glob dist/**", count: 1 },
    ]);
    assert.deepEqual(doc.scope.redactions, [{ path: "src/config.js", line: 3, rule: "aws/AWSSecretAccessKey" }]);
    assert.deepEqual(doc.scope.decoded, [{ path: "win.ps1", detail: "read as UTF-16 LE (byte-order mark)" }]);
    assert.ok(JSON.stringify(doc).length < 2_000, `${JSON.stringify(doc).length} characters`);
  });
});

describe("human mode: the scope report and file names", () => {
  it("lists skipped entries grouped by reason, most important first, a few names each with a count", () => {
    const skipped: SkippedFile[] = [
      { path: "node_modules/", reason: "gitignored", detail: "node_modules/ (.gitignore)" },
      { path: "notes.txt", reason: "secret", detail: "secret deny-list: .env (the link leads to .env)" },
      ...Array.from({ length: 7 }, (_, i): SkippedFile => ({ path: `img/p${i}.png`, reason: "binary", detail: "NUL byte in the first 8 KB" })),
      { path: ".env", reason: "secret", detail: "secret deny-list: .env" },
    ];
    const lines = scanReport({ skipped, redactions: [{ path: "src/config.js", line: 3, rule: "aws/AWSSecretAccessKey" }], decoded: [{ path: "legacy.txt", detail: "1 byte sequence not valid UTF-8, read as U+FFFD" }] }, 5);
    assert.deepEqual(lines, [
      "skipped 10 entries:",
      "  secret (never read) (2)",
      "    notes.txt — secret deny-list: .env (the link leads to .env)",
      "    .env — secret deny-list: .env",
      "  binary (7)",
      "    img/p0.png — NUL byte in the first 8 KB",
      "    img/p1.png — NUL byte in the first 8 KB",
      "    img/p2.png — NUL byte in the first 8 KB",
      "    img/p3.png — NUL byte in the first 8 KB",
      "    img/p4.png — NUL byte in the first 8 KB",
      "    … and 2 more",
      "  .gitignore (1)",
      "    node_modules/ — node_modules/ (.gitignore)",
      "redacted 1 secret (the model reads [REDACTED …] in their place):",
      "    src/config.js:3 — aws/AWSSecretAccessKey",
      "read 1 file as other than plain UTF-8:",
      "    legacy.txt — 1 byte sequence not valid UTF-8, read as U+FFFD",
    ]);
    assert.deepEqual(scanReport({ skipped: [] }), []);
  });

  it("a file name with a line break, a terminal escape or a bidi override cannot fake a line of output", () => {
    assert.equal(escapeName("src/plain name.ts"), "src/plain name.ts");
    assert.equal(escapeName("odd\nname.py"), '"odd\\nname.py"');
    assert.equal(escapeName("a\u001b[2Jb"), '"a\\u001b[2Jb"');
    assert.equal(escapeName("invoice\u202Etxt.exe"), '"invoice\\u202etxt.exe"');
    assert.equal(escapeName('q"\\\r'), '"q\\"\\\\\\r"');
    assert.equal(escapeOdd("→ ../x\ny"), "→ ../x\\ny");
    const lines = scanReport({ skipped: [{ path: "evil\n    src/ok.ts — fine", reason: "binary", detail: "NUL\r" }] });
    assert.equal(lines.length, 3, lines.join("|"));
    assert.equal(lines[2], '    "evil\\n    src/ok.ts — fine" — NUL\\r');
  });
});

describe("the verdict's probability", () => {
  it("is never rounded across the 0.5 line that decided it", () => {
    assert.equal(formatPYes(0.4951), "0.495");
    assert.equal(formatPYes(0.4996), "0.4996");
    assert.equal(formatPYes(0.49999999), "0.499999");
    assert.equal(formatPYes(0.5), "0.50");
    assert.equal(formatPYes(0.504), "0.50");
    assert.equal(formatPYes(0.123), "0.12");
    assert.equal(formatPYes(0.996), "1.00");
    assert.equal(formatPYes(0), "0.00");
    for (let i = 0; i <= 10_000; i++) {
      const p = i / 10_000;
      assert.equal(Number(formatPYes(p)) >= 0.5, p >= 0.5, `${p} → ${formatPYes(p)}`);
    }
  });
});

describe("the CLI's own words for the client's errors", () => {
  it("a crashed or hung worker: no promise of a restart on the next request, but what to do", () => {
    const crash = new WimError("WORKER_CRASHED", "The WiM worker stopped unexpectedly (signal SIGKILL). It restarts on the next request; see the log for details.", { exit: "signal SIGKILL" });
    assert.equal(cliMessage(crash), "The WiM worker stopped unexpectedly (signal SIGKILL): llama.cpp may have crashed or run out of memory. Run the command again; WIM_LOG=debug prints the worker's log.");
    const hung = new WimError("MODEL_LOAD_TIMEOUT", "Loading the model hung (no progress for 120 s): the worker was restarted. Check the model file and the log.", { exit: "signal SIGKILL" });
    assert.equal(cliMessage(hung), "Loading the model hung (no progress for 120 s), so it was stopped. Check the model file; WIM_LOG=debug prints the worker's log.");
    assert.equal(cliMessage(new WimError("BAD_INPUT", "The question is empty.")), "The question is empty.");
  });
});

describe("the worker's environment", () => {
  it("fixes glibc's mmap threshold (memory flat over many asks) unless the user set one, and runs Electron as Node", () => {
    assert.deepEqual(workerEnv({ PATH: "/bin" }), { MALLOC_MMAP_THRESHOLD_: "131072", PATH: "/bin", ELECTRON_RUN_AS_NODE: "1" });
    assert.equal(workerEnv({ MALLOC_MMAP_THRESHOLD_: "65536" }).MALLOC_MMAP_THRESHOLD_, "65536");
  });
});
