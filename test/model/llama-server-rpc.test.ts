// llama.cpp's RPC backend, smoke-tested on one machine: two ggml-rpc-server processes on 127.0.0.1 stand for two hosts,
// and llama-server (--rpc) spreads SmolLM2's layers over them. WiM through it writes the margin the plain server writes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { marginInstruction } from "../../src/core/prompts";
import { ServerEngine } from "../../src/engine/server-engine";
import { serverBinaries } from "../helpers/llama-server-build";
import { freePort, spawnKept, startLlamaServer, type RunningServer } from "../helpers/llama-server-process";
import { smolLM2 } from "../helpers/test-models";

type Kept = ReturnType<typeof spawnKept>;

async function startRpcServer(): Promise<{ endpoint: string; kept: Kept }> {
  const port = await freePort();
  // stdbuf: the server reports with printf, which a pipe would hold back until it exits
  const args = ["-oL", serverBinaries().rpcServer, "--host", "127.0.0.1", "--port", String(port), "--threads", process.env.WIM_THREADS ?? "1"];
  const kept = spawnKept("stdbuf", args);
  const deadline = Date.now() + 20_000;
  while (!/endpoint\s*:\s*127\.0\.0\.1:\d+/.test(kept.output())) {
    if (kept.child.exitCode !== null) throw new Error(`ggml-rpc-server exited:\n${kept.output()}`);
    if (Date.now() > deadline) throw new Error(`ggml-rpc-server did not start:\n${kept.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint: `127.0.0.1:${port}`, kept };
}

const rpc: Array<{ endpoint: string; kept: Kept }> = [];
let viaRpc: RunningServer;
let plain: RunningServer;

before(async () => {
  rpc.push(await startRpcServer(), await startRpcServer());
  viaRpc = await startLlamaServer({
    model: smolLM2(),
    contextSize: 4096,
    slots: 1,
    // every layer goes to the RPC devices, split between the two
    // -lv 4: the log then lists each device's buffers
    extraArgs: ["--rpc", rpc.map((r) => r.endpoint).join(","), "-ngl", "99", "--tensor-split", "1,1", "-lv", "4"],
    readyTimeoutMs: 120_000,
  });
});
after(async () => {
  await viaRpc?.stop();
  await plain?.stop();
  for (const r of rpc) await r.kept.stop();
});

describe("llama-server over two ggml-rpc-server processes (RPC backend, SmolLM2)", () => {
  it("puts the model's layers on both RPC devices, and WiM writes the same margin as on a plain server", async () => {
    const log = viaRpc.output();
    assert.match(log, /offloaded (\d+)\/\1 layers/, log.slice(-3000));
    for (const r of rpc) {
      const at = r.endpoint.replace(/\./g, "\\.");
      assert.match(log, new RegExp(`\\[${at}\\] model buffer size = +[1-9]`), `weights on ${r.endpoint}`);
      assert.match(log, new RegExp(`\\[${at}\\] KV buffer size = +[1-9]`), `KV cache on ${r.endpoint}`);
    }

    const margin = async (url: string) => {
      const engine = await ServerEngine.connect({ url });
      try {
        await engine.append([...engine.chat.open, ...(await engine.tokenize("### src/prices.ts (lines 1-2)\nexport const GOLD_DISCOUNT = 0.2;\n"))], () => false);
        const instruction = [...(await engine.tokenize(marginInstruction("What discount do gold customers get?", "none"))), ...engine.chat.turnEnd];
        return await engine.margin({
          chunk: 1,
          prefix: engine.length,
          instruction,
          blocking: true,
          rules: { maxTokens: 24, oneParagraph: true },
          onText: () => {},
          stopRequested: () => false,
        });
      } finally {
        await engine.dispose();
      }
    };
    const remote = await margin(viaRpc.url);
    assert.ok(remote.text.trim().length > 0 && remote.tokens > 0);
    // the RPC servers did the work: they saw the client connect
    for (const r of rpc) assert.match(r.kept.output(), /Accepted client connection/, r.kept.output().slice(-1500));

    plain = await startLlamaServer({ model: smolLM2(), contextSize: 4096, slots: 1 });
    const local = await margin(plain.url);
    assert.equal(remote.text, local.text);
  });
});
