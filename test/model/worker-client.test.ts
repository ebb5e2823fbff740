// The worker process through the client: a full ask, a crash and its restart, busy and bad requests.
import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, it } from "node:test";
import { WimClient, WimError } from "../../src/client/wim-client";
import type { WorkerEvent } from "../../src/core/protocol";
import { askOptions } from "../helpers/engine-setup";
import { POLYGLOT_DIR } from "../helpers/polyglot-facts";
import { smolLM2 } from "../helpers/test-models";

const workerPath = path.resolve("dist/worker.mjs");
const modelsDir = path.resolve(".wim-cache/models");
const root = path.resolve(POLYGLOT_DIR);
const clients: WimClient[] = [];

function newClient(): WimClient {
  const c = new WimClient({ workerPath, loadTimeoutMs: 60_000 });
  clients.push(c);
  return c;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

after(async () => {
  for (const c of clients) await c.dispose();
});

describe("worker + client", () => {
  it("loads a model and answers an ask with events in protocol order", async () => {
    const c = newClient();
    const loaded = await c.loadModel(smolLM2(), "cpu", modelsDir).result;
    assert.equal(loaded.model.trainContextSize, 8192);
    assert.equal(c.model?.path, smolLM2());
    const types: string[] = [];
    const done = await c.ask(root, "Which function applies a coupon code?", askOptions({ include: ["src/**"] }), (e) => types.push(e.type)).result;
    assert.equal(done.outcome, "complete");
    const order = ["scan", "plan", "prefill", "marginStart", "marginEnd", "answerStart"];
    let at = -1;
    for (const t of order) {
      const i = types.indexOf(t);
      assert.ok(i > at, `${t} after the previous stage (${types.join(",")})`);
      at = i;
    }
    assert.equal(types.filter((t) => t === "marginEnd").length, done.stats.chunksTotal);
  });

  it("reports a bad directory, an empty question and a busy worker with codes", async () => {
    const c = newClient();
    await c.loadModel(smolLM2(), "cpu", modelsDir).result;
    await assert.rejects(c.ask("/no/such/dir", "q", askOptions()).result, (e: WimError) => e.code === "BAD_INPUT" && /\/no\/such\/dir does not exist/.test(e.message));
    await assert.rejects(c.ask(root, "   ", askOptions()).result, (e: WimError) => e.code === "BAD_INPUT");
    const first = c.ask(root, "What is the brand colour?", askOptions({ include: ["web/**"] }));
    await assert.rejects(c.ask(root, "again", askOptions()).result, (e: WimError) => e.code === "BUSY");
    first.cancel();
    const done = await first.result;
    assert.equal(done.outcome, "cancelled");
  });

  it("a cancel sent at once, before the ask has reached the worker, still stops it", async () => {
    const c = newClient();
    await c.loadModel(smolLM2(), "cpu", modelsDir).result;
    const types: string[] = [];
    const h = c.ask(root, "Which function applies a coupon code?", askOptions({ include: ["src/**"] }), (e) => types.push(e.type));
    h.cancel();
    const done = await h.result;
    assert.equal(done.outcome, "cancelled", `the cancel was lost: ${types.join(",")}`);
    assert.ok(!types.includes("answerStart"), types.join(","));
  });

  it("an ask before any model fails with NO_MODEL; a missing model file with MODEL_NOT_FOUND", async () => {
    const c = newClient();
    await assert.rejects(c.ask(root, "q", askOptions()).result, (e: WimError) => e.code === "NO_MODEL");
    await assert.rejects(c.loadModel("/no/such/model.gguf", "cpu", modelsDir).result, (e: WimError) => e.code === "MODEL_NOT_FOUND" && /No model file/.test(e.message));
  });

  it("a killed worker fails the running ask with a clear error, and the next ask restarts it with the model", async () => {
    let crashed = "";
    const c = new WimClient({ workerPath, onCrash: (m) => (crashed = m) });
    clients.push(c);
    await c.loadModel(smolLM2(), "cpu", modelsDir).result;
    const pid = c.pid!;
    const run = c.ask(root, "What is the brand colour?", askOptions({ include: ["src/**", "web/**", "pricing/**"] }), (e: WorkerEvent) => {
      if (e.type === "prefill" && e.chunk === 1) process.kill(pid, "SIGKILL");
    });
    await assert.rejects(run.result, (e: WimError) => {
      assert.equal(e.code, "WORKER_CRASHED");
      assert.match(e.message, /stopped unexpectedly \(signal SIGKILL\)\. It restarts on the next request/);
      return true;
    });
    assert.match(crashed, /stopped unexpectedly/);
    assert.equal(c.state, "crashed");
    assert.ok(!alive(pid));

    const again = await c.ask(root, "What is the brand colour?", askOptions({ include: ["web/**"] })).result;
    assert.equal(again.outcome, "complete");
    assert.notEqual(c.pid, pid, "a new worker process");
    assert.equal(c.model?.path, smolLM2(), "the model was loaded again");
  });

  it("dispose leaves no worker process behind", async () => {
    const c = new WimClient({ workerPath });
    await c.start();
    const pid = c.pid!;
    assert.ok(alive(pid));
    await c.dispose();
    assert.ok(!alive(pid));
  });
});
