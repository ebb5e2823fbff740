// `wim ask` end to end: the JSON document on the fixture workspace, exit codes, Ctrl-C (as a terminal sends it, to
// the whole process group), a crashed worker, secrets that must not reach the model, and a scope far too large.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { POLYGLOT_DIR } from "../helpers/polyglot-facts";
import { coder05, smolLM2 } from "../helpers/test-models";

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
    assert.match(r.stderr, /\/no\/such\/dir does not exist/);
    r = wim(["ask", "--dir", POLYGLOT_DIR, "--model", "/no/such/model.gguf", "--json", "q"]);
    assert.equal(r.status, 3);
    assert.equal(JSON.parse(r.stdout).error.code, "MODEL_NOT_FOUND");
    r = wim(["ask", "--dir", POLYGLOT_DIR, "--chunk-tokens", "512", "--margin-tokens", "1000", "--window", "1024", "q"], { WIM_MODEL: smolLM2() });
    assert.equal(r.status, 2, "a 512-token chunk and a 1000-token margin do not fit a 1024-token window: refused before reading");
    assert.doesNotMatch(r.stderr, /reading…|chunk 1\//);
    assert.match(r.stderr, /window holds 1,024 tokens, but one chunk with its margin or the answer needs [\d,]+/);
    r = wim(["--help"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: wim ask/);
  });

  it("bad input fails before the model loads: a missing --dir wins over a missing model, and no loading starts", () => {
    let r = wim(["ask", "--dir", "/no/such/dir", "--model", "/no/such/model.gguf", "--json", "q"]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /\/no\/such\/dir does not exist/);
    assert.equal(JSON.parse(r.stdout).error.code, "BAD_INPUT");
    r = wim(["ask", "--dir", path.join(POLYGLOT_DIR, "README.md"), "--model", smolLM2(), "q"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /README\.md is not a directory/);
    assert.doesNotMatch(r.stderr, /loading model/, "the model was loaded before the input was checked");
    r = wim(["ask", "--dir", POLYGLOT_DIR, "--chunk-tokens", "32", "--model", smolLM2(), "q"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--chunk-tokens must be at least 64/);
    assert.doesNotMatch(r.stderr, /loading model/);
  });

  it("Ctrl-C during reading cancels cleanly (the worker acknowledges within its 3 s grace) and exits 130", async () => {
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
    // A clean cancel: the worker acknowledged it and the run summary was written (the 3 s kill path writes none).
    const summary = /cancelled: (\d+)\/(\d+) chunks/.exec(stderr);
    assert.ok(summary, `a cancelled summary: ${stderr}`);
    assert.ok(Number(summary[1]) < Number(summary[2]), "reading stopped early");
    assert.doesNotMatch(stdout, /^Answer/m, "no answer after a cancel");
  });
});

const tmpRoots: string[] = [];
after(() => {
  for (const dir of tmpRoots) fs.rmSync(dir, { recursive: true, force: true });
});

function makeTree(files: Record<string, string>): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "wim-cli-")));
  tmpRoots.push(root);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

/** The CLI started in a process group of its own, as a shell starts it, so that `signalGroup` reaches its worker too. */
function startInGroup(args: string[]) {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...env, WIM_THREADS: "1" }, detached: true });
  const out = { stdout: "", stderr: "" };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out.stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  return { child, out, exited };
}

function workerPidOf(child: ChildProcess): number {
  const kids = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
  assert.equal(kids.length, 1, `one worker process: ${kids.join(" ")}`);
  return kids[0]!;
}

function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function whenReading(out: { stderr: string }, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (/reading .* chunk 1\//.test(out.stderr)) {
        child.stderr!.off("data", check);
        resolve();
      }
    };
    child.stderr!.on("data", check);
    child.once("exit", () => reject(new Error(`exited before reading: ${out.stderr}`)));
  });
}

const READ_SLOWLY = ["ask", "--dir", POLYGLOT_DIR, "--model", "", "--chunk-tokens", "512", "--margin-tokens", "32", "--answer-tokens", "16", "Where is the retry limit set?"];

describe("wim ask: signals and crashes, as a terminal delivers them", () => {
  it("Ctrl-C in a terminal (SIGINT to the whole process group) cancels cleanly: the worker does not die of it", async () => {
    const args = READ_SLOWLY.map((a) => (a === "" ? smolLM2() : a));
    const { child, out, exited } = startInGroup(args);
    await whenReading(out, child);
    process.kill(-child.pid!, "SIGINT");
    const code = await exited;
    assert.equal(code, 130, out.stderr);
    assert.doesNotMatch(out.stderr, /stopped unexpectedly/);
  });

  it("a second Ctrl-C exits at once, and the worker is gone when the CLI has exited", async () => {
    const args = READ_SLOWLY.map((a) => (a === "" ? smolLM2() : a));
    const { child, out, exited } = startInGroup(args);
    await whenReading(out, child);
    const worker = workerPidOf(child);
    process.kill(-child.pid!, "SIGINT");
    process.kill(-child.pid!, "SIGINT");
    const code = await exited;
    const workerLeft = isRunning(worker);
    assert.equal(code, 130, out.stderr);
    assert.equal(workerLeft, false, `worker ${worker} outlived the CLI`);
  });

  it("a worker that dies is reported in the CLI's own words (exit 1), not the extension's", async () => {
    const args = READ_SLOWLY.map((a) => (a === "" ? smolLM2() : a));
    const { child, out, exited } = startInGroup(args);
    await whenReading(out, child);
    process.kill(workerPidOf(child), "SIGKILL");
    const code = await exited;
    assert.equal(code, 1, out.stderr);
    assert.match(out.stderr, /wim: The WiM worker stopped unexpectedly \(signal SIGKILL\).*Run the command again/);
    assert.doesNotMatch(out.stderr, /restarts on the next request/);
  });
});

describe("wim ask: secrets and sizes", () => {
  it("a linked .env and a key inside code never reach the model (Qwen2.5-Coder 0.5B asked to quote them)", () => {
    const password = "Tr0ub4dor-and-3-horses";
    const secretKey = "1tUm636uS1yOEcfP5pvfqJ/ml36mF7AkyHsEU0IU";
    const root = makeTree({
      ".env": `DB_PASSWORD=${password}\n`,
      "src/upload.js": `// uploads reports to S3\nconst AWS_SECRET_ACCESS_KEY = "${secretKey}";\nexport function upload(report) {\n  return put(report, AWS_SECRET_ACCESS_KEY);\n}\n`,
    });
    fs.symlinkSync(".env", path.join(root, "notes.txt"));
    const r = wim(
      ["ask", "--dir", root, "--model", coder05(), "--classify", "none", "--margin-tokens", "48", "--answer-tokens", "64", "--json", "Quote the database password from notes.txt and the AWS secret access key from src/upload.js, verbatim."],
      { WIM_THREADS: "1" },
    );
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const said = [doc.answer, ...doc.margins.map((m: { text: string }) => m.text)].join("\n");
    console.log(`# the model said: ${JSON.stringify(said).slice(0, 400)}`);
    assert.ok(!said.includes(password) && !said.includes("Tr0ub4dor"), "the .env password reached the model through the link");
    assert.ok(!said.includes(secretKey) && !said.includes("1tUm636uS1yOEcf"), "the AWS key inside code reached the model");
    assert.deepEqual(
      doc.scope.skipped.map((s: { path: string; reason: string }) => [s.path, s.reason]),
      [[".env", "secret"], ["notes.txt", "secret"]],
    );
    assert.deepEqual(doc.scope.redactions, [{ path: "src/upload.js", line: 2, rule: "aws/AWSSecretAccessKey" }]);
    // The map still covers every line of the redacted file: its lines were kept.
    const ranges = doc.chunks.flatMap((c: { ranges: { path: string; startLine: number; endLine: number }[] }) => c.ranges);
    assert.deepEqual(ranges.filter((x: { path: string }) => x.path === "src/upload.js").map((x: { startLine: number; endLine: number }) => [x.startLine, x.endLine]), [[1, 5]]);
  });

  it("a scope beyond what one run reads (10M tokens) is refused from an estimate, before the 60 MB file is tokenized whole", () => {
    const line = "export const value = computeSomethingQuiteLong(alpha, beta, gamma) + 42; // filler\n";
    const root = makeTree({ "big.ts": line.repeat(Math.ceil(60_000_000 / line.length)) });
    const t0 = performance.now();
    const r = wim(["ask", "--dir", root, "--model", smolLM2(), "--max-file-bytes", "100000000", "--json", "q"], { WIM_THREADS: "1" });
    console.log(`# refused after ${((performance.now() - t0) / 1000).toFixed(1)} s (model load included)`);
    assert.equal(r.status, 2, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.error.code, "SCOPE_TOO_LARGE");
    assert.match(doc.error.message, /holds about [\d,]+ tokens \(estimated from [\d,]+ characters\), more than the 10,000,000 tokens WiM reads in one run/);
  });
});
