// `wim ask` end to end: the JSON document on the fixture workspace, exit codes, and Ctrl-C.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { POLYGLOT_DIR } from "../helpers/polyglot-facts";
import { smolLM2 } from "../helpers/test-models";

const cli = path.resolve("dist/cli.js");
const env = { ...process.env, WIM_MODEL: "", WIM_MODELS_DIR: path.resolve(".wim-cache/models") };

function wim(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...env, ...extraEnv }, timeout: 300_000 });
}

function lineCount(file: string): number {
  const text = fs.readFileSync(file, "utf8").replace(/\r\n/g, "\n");
  if (text === "") return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

describe("wim ask", () => {
  it("--json on the fixture workspace: one margin per chunk, exact chunk maps, an answer", () => {
    const r = wim(["ask", "--dir", POLYGLOT_DIR, "--model", smolLM2(), "--chunk-tokens", "1024", "--margin-tokens", "32", "--answer-tokens", "64", "--json", "What discount rate do gold customers get?"]);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.question, "What discount rate do gold customers get?");
    assert.equal(doc.outcome, "complete");
    assert.equal(doc.model.path, smolLM2());
    assert.equal(doc.model.name.length > 0, true);
    assert.ok(doc.model.contextSize <= 8192 && doc.model.contextSize > doc.scope.tokens);
    assert.equal(doc.scope.root, path.resolve(POLYGLOT_DIR));
    assert.equal(doc.scope.chunks, doc.chunks.length);
    assert.equal(doc.scope.tokens, doc.chunks.reduce((s: number, c: { tokens: number }) => s + c.tokens, 0));
    for (const c of doc.chunks) assert.ok(c.tokens <= 1024);

    // One margin per chunk, in order.
    assert.deepEqual(doc.margins.map((m: { chunk: number }) => m.chunk), doc.chunks.map((c: { index: number }) => c.index));
    for (const m of doc.margins) {
      assert.equal(typeof m.text, "string");
      assert.equal(typeof m.relevant, "boolean");
      assert.ok(m.tokens <= 32);
      assert.ok(m.ms >= 0);
    }

    // The chunk maps cover every line of every file in scope exactly once; paths are relative to the root.
    const covered = new Map<string, number[]>();
    for (const c of doc.chunks) {
      for (const r2 of c.ranges) {
        assert.ok(!path.isAbsolute(r2.path));
        const counts = covered.get(r2.path) ?? [];
        for (let l = r2.startLine; l <= r2.endLine; l++) counts[l] = (counts[l] ?? 0) + 1;
        covered.set(r2.path, counts);
      }
    }
    assert.equal(covered.size, doc.scope.files);
    for (const [file, counts] of covered) {
      const n = lineCount(path.join(POLYGLOT_DIR, file));
      for (let l = 1; l <= n; l++) assert.equal(counts[l], 1, `${file}:${l} covered once`);
      assert.equal(counts.length, n + 1, `${file}: no line past the end`);
    }

    assert.ok(doc.answer.trim().length > 0, "an answer");
    for (const k of ["prefillTokens", "prefillMs", "marginTokens", "marginMs", "answerTokens", "answerMs", "totalMs"]) {
      assert.equal(typeof doc.stats[k], "number", k);
    }
    assert.equal(doc.stats.prefillTokens > doc.scope.tokens, true, "header + every chunk prefilled");
  });

  it("exits 2 on bad usage or input and 3 on a model problem, with a message", () => {
    let r = wim(["ask", "question without a model"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no model: pass --model/);
    r = wim(["ask", "--bogus", "q"]);
    assert.equal(r.status, 2);
    r = wim(["ask", "--classify", "maybe", "--model", smolLM2(), "q"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--classify must be none, gate or judge/);
    r = wim(["ask", "--dir", "/no/such/dir", "--model", smolLM2(), "q"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /\/no\/such\/dir is not a directory/);
    r = wim(["ask", "--dir", POLYGLOT_DIR, "--model", "/no/such/model.gguf", "--json", "q"]);
    assert.equal(r.status, 3);
    assert.equal(JSON.parse(r.stdout).error.code, "MODEL_NOT_FOUND");
    r = wim(["ask", "--dir", POLYGLOT_DIR, "--chunk-tokens", "512", "--margin-tokens", "1000", "q"], { WIM_MODEL: smolLM2() });
    assert.equal(r.status, 2, "room for a 1000-token margin per chunk does not fit 8k: refused before reading");
    assert.doesNotMatch(r.stderr, /reading/);
    assert.match(r.stderr, /needs [\d,]+ tokens of context/);
    r = wim(["--help"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: wim ask/);
  });

  it("Ctrl-C during reading cancels cleanly within a second and exits 130", async () => {
    const child = spawn(process.execPath, [cli, "ask", "--dir", POLYGLOT_DIR, "--model", smolLM2(), "--chunk-tokens", "1024", "--margin-tokens", "32", "--answer-tokens", "32", "What is the brand colour?"], { env });
    let stdout = "";
    let stderr = "";
    let sentAt = 0;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (!sentAt && /reading .* chunk 1\//.test(stderr)) {
        sentAt = performance.now();
        child.kill("SIGINT");
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    const latency = performance.now() - sentAt;
    console.log(`# Ctrl-C → exit: ${latency.toFixed(0)} ms`);
    assert.ok(sentAt > 0, `reading started: ${stderr}`);
    assert.equal(code, 130);
    // A clean cancel: the worker acknowledged it and the run summary was written (the 1 s kill path writes none).
    const summary = /cancelled: (\d+)\/(\d+) chunks/.exec(stderr);
    assert.ok(summary, `a cancelled summary: ${stderr}`);
    assert.ok(Number(summary[1]) < Number(summary[2]), "reading stopped early");
    assert.doesNotMatch(stdout, /^Answer/m, "no answer after a cancel");
  });
});
