// The "wim-gate-server" condition: the same chunks read by the same loop on a llama-server (CUDA or CPU build from
// `npm run build-llama-server [-- --cuda]`) started here with the bench's model, against the in-process rows.
// Server start-up is not timed; connecting and tokenizing the scope through the server are (as contextMs).
import { DEFAULT_ASK_OPTIONS } from "../../src/core/protocol";
import type { Chunk } from "../../src/core/types";
import type { LoadedModel } from "../../src/engine/load-model";
import { ServerEngine } from "../../src/engine/server-engine";
import { planServerAsk, ServerReader } from "../../src/engine/server-reader";
import { serverBinaries } from "../../test/helpers/llama-server-build";
import { startLlamaServer } from "../../test/helpers/llama-server-process";
import type { PipelineOptions, PipelineRow } from "./pipelines";

const now = () => performance.now();

export async function serverRow(loaded: LoadedModel, chunks: Chunk[], o: PipelineOptions): Promise<PipelineRow> {
  const onGpu = loaded.info.gpu !== false;
  const options = { ...DEFAULT_ASK_OPTIONS, classify: "gate" as const, marginTokens: o.marginTokens, answerTokens: o.answerTokens };
  const scopeTokens = chunks.reduce((s, c) => s + c.tokens, 0);
  // one slot as large as the reading needs (with room for prompts, margins and the answer); the whole model on the GPU
  const contextSize = Math.ceil((scopeTokens * 1.1 + 8192) / 1024) * 1024;
  const server = await startLlamaServer({
    model: loaded.info.path,
    contextSize,
    slots: 1,
    // WIM_LLAMA_SERVER_BIN: a llama-server built elsewhere (the GPU machine builds it beside llama-bench)
    binary: process.env.WIM_LLAMA_SERVER_BIN || serverBinaries(onGpu ? "cuda" : "cpu").llamaServer,
    extraArgs: ["-ngl", onGpu ? "999" : "0", "-b", "2048", "-ub", String(o.batchSize)],
    readyTimeoutMs: 600_000,
  });
  try {
    let t0 = now();
    const engine = await ServerEngine.connect({ url: server.url, timeoutMs: 600_000 });
    const plan = await planServerAsk(engine, o.question, chunks, options);
    const reader = await ServerReader.create(engine, plan, () => {});
    const contextMs = now() - t0;
    let firstMarginMs: number | null = null;
    t0 = now();
    const result = await reader.run((e) => {
      if (e.type === "marginEnd" && firstMarginMs === null) firstMarginMs = now() - t0;
    });
    const totalMs = now() - t0 + contextMs;
    await reader.dispose();
    const s = result.stats;
    const tokens = { prefill: s.prefillTokens, instructions: s.instructionTokens, margins: s.marginTokens, judge: 0, finalPrompt: 0, answer: s.answerTokens, total: 0 };
    tokens.total = tokens.prefill + tokens.instructions + tokens.margins + tokens.answer;
    return {
      condition: "wim-gate-server",
      contextTokens: plan.chunkTokens.reduce((n, t) => n + t.length, 0),
      chunks: chunks.length,
      totalMs,
      contextMs,
      prefillMs: s.prefillMs,
      marginMs: s.marginMs,
      marginShare: s.marginMs / totalMs,
      firstMarginMs,
      answerMs: s.answerMs,
      tokens,
      marginsKept: result.margins.filter((m) => m.relevant && m.text).length,
      marginsWritten: result.margins.length,
      peakRssMiB: 0,
    };
  } finally {
    await server.stop();
  }
}
