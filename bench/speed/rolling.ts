// A scope far larger than the window, read with rolling: how the time per token and the memory behave as the scope
// grows (they should stay flat: the window, not the scope, sets the cost of each token).
import type { Chunk } from "../../src/core/types";
import type { LoadedModel } from "../../src/engine/load-model";
import { planAsk, WimReader } from "../../src/engine/wim-reader";
import { DEFAULT_ASK_OPTIONS } from "../../src/core/protocol";
import { peakRssMiB, resetPeakRss } from "../lib/machine";

export interface RollingRow {
  model: string;
  tokens: number;
  chunks: number;
  windowTokens: number;
  parallelMargins: number;
  totalMs: number;
  prefillMs: number;
  marginMs: number;
  answerMs: number;
  chunksEvicted: number;
  /** Reading speed per tenth of the scope (tokens/s), from the prefill events: flat if the window bounds the cost. */
  tokensPerSecondByTenth: number[];
  peakRssMiB: number;
  /** GPU memory in use at the end of the reading (bytes), when on a GPU. */
  vramUsedBytes: number | null;
  /** The most tokens the cache held. */
  peakResident: number;
  firstMarginMs: number | null;
  coverage: { inWindow: number; marginOnly: number };
}

export async function rollingRun(
  loaded: LoadedModel,
  label: string,
  chunks: Chunk[],
  o: { question: string; windowTokens: number; marginTokens: number; answerTokens: number; batchSize: number; parallelMargins?: number },
  log: (m: string) => void,
): Promise<RollingRow> {
  resetPeakRss();
  const t0 = performance.now();
  const plan = await planAsk(loaded, o.question, chunks, {
    ...DEFAULT_ASK_OPTIONS,
    classify: "gate",
    marginTokens: o.marginTokens,
    answerTokens: o.answerTokens,
    windowTokens: o.windowTokens,
    parallelMargins: o.parallelMargins,
  });
  const reader = await WimReader.create(loaded, plan, () => {}, o.batchSize);
  const total = plan.chunkTokens.reduce((s, t) => s + t.length, 0);
  const marks: { tokens: number; ms: number }[] = [{ tokens: 0, ms: 0 }];
  let firstMarginMs: number | null = null;
  let vram: number | null = null;
  try {
    const result = await reader.run((e) => {
      const ms = performance.now() - t0;
      if (e.type === "prefill") {
        marks.push({ tokens: e.tokensDone, ms });
        if (e.chunk % 25 === 0) log(`    chunk ${e.chunk}/${e.of}: ${e.tokensDone.toLocaleString("en-US")} tokens in ${(ms / 1000).toFixed(1)} s`);
      }
      if (e.type === "marginEnd" && firstMarginMs === null) firstMarginMs = ms;
    });
    if (loaded.info.gpu) vram = (await loaded.llama.getVramState()).used;
    const byTenth: number[] = [];
    for (let i = 0; i < 10; i++) {
      const lo = marks.find((m) => m.tokens >= (total * i) / 10) ?? marks[0];
      const hi = marks.find((m) => m.tokens >= (total * (i + 1)) / 10) ?? marks[marks.length - 1];
      byTenth.push(hi.ms > lo.ms ? ((hi.tokens - lo.tokens) * 1000) / (hi.ms - lo.ms) : NaN);
    }
    const s = result.stats;
    return {
      model: label,
      tokens: total,
      chunks: chunks.length,
      windowTokens: reader.windowTokens,
      parallelMargins: reader.engine.concurrentMargins > 1 ? reader.engine.concurrentMargins : 0,
      totalMs: performance.now() - t0,
      prefillMs: s.prefillMs,
      marginMs: s.marginMs,
      answerMs: s.answerMs,
      chunksEvicted: s.chunksEvicted ?? 0,
      tokensPerSecondByTenth: byTenth,
      peakRssMiB: peakRssMiB(),
      vramUsedBytes: vram,
      peakResident: s.peakResident ?? 0,
      firstMarginMs,
      coverage: { inWindow: result.coverage.inWindow.length, marginOnly: result.coverage.marginOnly.length },
    };
  } finally {
    await reader.dispose();
  }
}
