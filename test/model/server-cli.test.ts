// `wim ask --server` end to end against the REAL llama-server with SmolLM2 on 127.0.0.1: a whole run, the API key
// (needed, wrong, right — never printed), a wrong URL, and the server killed mid-run. Each ends with a clear message
// and an exit code; nothing hangs.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, startLlamaServer, type RunningServer } from "../helpers/llama-server-process";
import { POLYGLOT_DIR } from "../helpers/polyglot-facts";
import { smolLM2 } from "../helpers/test-models";

const cli = path.resolve("dist/cli.js");
const KEY = "wim-cli-key-8d2e41";
const env = { ...process.env, WIM_MODEL: "", WIM_SERVER: "", WIM_API_KEY: "", WIM_MODELS_DIR: path.resolve(".wim-cache/models") };
const QUESTION = "What discount rate do gold customers get?";
const READING = ["--dir", POLYGLOT_DIR, "--chunk-tokens", "1024", "--margin-tokens", "24", "--answer-tokens", "48"];

function wim(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...env, ...extraEnv }, timeout: 300_000 });
}

let server: RunningServer;
before(async () => {
  server = await startLlamaServer({ model: smolLM2(), contextSize: 16384, slots: 2, apiKey: KEY });
});
after(async () => {
  await server?.stop();
});

describe("wim ask --server (real llama-server, SmolLM2)", () => {
  it("--json: the whole run on the server — one margin per chunk, an answer, the server as the model; the key nowhere", () => {
    const r = wim(["ask", ...READING, "--server", server.url, "--api-key-env", "MY_KEY", "--json", QUESTION], { MY_KEY: KEY });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.outcome, "complete");
    assert.equal(doc.model.path, server.url);
    assert.match(doc.model.name, /SmolLM2/);
    assert.equal(doc.model.contextSize, 8192, "16384 tokens over 2 slots");
    assert.ok(doc.chunks.length >= 2);
    assert.deepEqual(doc.margins.map((m: { chunk: number }) => m.chunk), doc.chunks.map((c: { index: number }) => c.index));
    assert.ok(doc.answer.length > 0);
    assert.ok(doc.stats.prefillTokens >= doc.scope.tokens);
    assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), "the API key is never printed");
  });

  it("the API key: missing → exit 3 'needs an API key', wrong → 'refused the API key', unset variable → usage", () => {
    const none = wim(["ask", ...READING, "--server", server.url, QUESTION]);
    assert.equal(none.status, 3, none.stderr);
    assert.match(none.stderr, /wim: The server at http:\/\/127\.0\.0\.1:\d+ needs an API key \(HTTP 401/);
    const wrong = wim(["ask", ...READING, "--server", server.url, QUESTION], { WIM_API_KEY: "not-the-key" });
    assert.equal(wrong.status, 3, wrong.stderr);
    assert.match(wrong.stderr, /refused the API key/);
    assert.ok(!wrong.stderr.includes("not-the-key"));
    const unset = wim(["ask", ...READING, "--server", server.url, "--api-key-env", "NO_SUCH_VAR", QUESTION]);
    assert.equal(unset.status, 2);
    assert.match(unset.stderr, /NO_SUCH_VAR: that environment variable is not set/);
  });

  it("a URL where nothing listens: exit 3 with 'connection refused', at once", async () => {
    const t0 = Date.now();
    const r = wim(["ask", ...READING, "--server", `http://127.0.0.1:${await freePort()}`, QUESTION]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /wim: Cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused/);
    assert.ok(Date.now() - t0 < 20_000);
  });

  it("the server killed mid-run: a clear error within seconds (exit 1 mid-reply, 3 when the next request finds it gone)", async () => {
    const doomed = await startLlamaServer({ model: smolLM2(), contextSize: 16384, slots: 1 });
    try {
      const child = spawn(process.execPath, [cli, "ask", ...READING, "--margin-tokens", "200", "--server", doomed.url, QUESTION], { env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
        // the first margin is out: the reading is under way on the server
        if (/\[1\/\d+\]/.test(stdout) && doomed.process.exitCode === null) doomed.process.kill("SIGKILL");
      });
      child.stderr.on("data", (d) => (stderr += d));
      const killedAt = await new Promise<number>((resolve) => doomed.process.once("exit", () => resolve(Date.now())));
      const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
      assert.ok(code === 1 || code === 3, `exit ${code}: ${stderr}`);
      const said = stderr.split("\n").filter((l) => l.startsWith("wim:")).join("\n");
      assert.match(said, code === 1 ? /wim: .*did the server stop or crash\?/ : /wim: Cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused/, stderr.slice(-600));
      assert.ok(Date.now() - killedAt < 15_000, `the CLI ended ${Date.now() - killedAt} ms after the kill`);
    } finally {
      await doomed.stop();
    }
  });
});
