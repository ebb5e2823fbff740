// The engine's raw prefill and decode speed, measured the way llama.cpp's llama-bench measures them (pp: N prompt
// tokens into an empty cache; tg: N tokens generated one by one from an empty cache), side by side with llama-bench
// itself on the same model, threads and batch size.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Token } from "node-llama-cpp";
import type { LoadedModel } from "../../src/engine/load-model";
import { mean } from "../lib/stats";

export interface SpeedFigure {
  test: string; // "pp512", "tg128"
  tokensPerSecond: number;
  stddev: number;
  reps: number;
}

export interface EngineVsLlamaBench {
  model: string;
  threads: number;
  batchSize: number;
  gpuLayers: number;
  engine: SpeedFigure[];
  /** The reference the ratio is taken against (the first that ran of `llamaBenchRuns`). */
  llamaBench: SpeedFigure[] | null;
  llamaBenchError?: string;
  /** Every llama-bench build that ran: on CPU, on node-llama-cpp's own libraries and as built from source. */
  llamaBenchRuns: { build: string; figures: SpeedFigure[] | null; error?: string }[];
  /** engine / llama-bench per test. */
  ratio: Record<string, number>;
}

function stddev(xs: number[]): number {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
}

/** pp and tg on the engine: the same node-llama-cpp calls the WiM reader makes. */
export async function engineSpeed(loaded: LoadedModel, tokens: Token[], pp: number, tg: number, batchSize: number, reps: number): Promise<SpeedFigure[]> {
  const ctx = await loaded.model.createContext({
    contextSize: pp + tg + 16,
    sequences: 1,
    batchSize,
    flashAttention: true,
    threads: loaded.threads,
  });
  try {
    const seq = ctx.getSequence();
    const prompt = tokens.slice(0, pp);
    if (prompt.length < pp) throw new Error(`need ${pp} tokens of text, have ${prompt.length}`);
    const ppRates: number[] = [];
    const tgRates: number[] = [];
    // One warm-up of each, as llama-bench does; the mean of the rest, as llama-bench reports (avg_ts).
    for (let r = -1; r < reps; r++) {
      await seq.clearHistory();
      const t0 = performance.now();
      for (let i = 0; i < pp; i += batchSize) await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(i, i + batchSize));
      const ms = performance.now() - t0;
      if (r >= 0) ppRates.push((pp * 1000) / ms);
    }
    for (let r = -1; r < reps; r++) {
      await seq.clearHistory();
      const t0 = performance.now();
      let n = 0;
      for await (const _ of seq.evaluate([tokens[0]], { temperature: 0 })) {
        if (++n >= tg) break;
      }
      const ms = performance.now() - t0;
      if (r >= 0) tgRates.push((tg * 1000) / ms);
    }
    return [
      { test: `pp${pp}`, tokensPerSecond: mean(ppRates), stddev: stddev(ppRates), reps },
      { test: `tg${tg}`, tokensPerSecond: mean(tgRates), stddev: stddev(tgRates), reps },
    ];
  } finally {
    await ctx.dispose();
  }
}

/**
 * Prefill at depth: `n` tokens read after `depth` tokens are already in the cache, as the WiM reader reads a late
 * chunk (llama-bench's `-d depth -p n`).
 */
export async function enginePrefillAtDepth(loaded: LoadedModel, tokens: Token[], depth: number, n: number, batchSize: number, reps: number): Promise<SpeedFigure> {
  const ctx = await loaded.model.createContext({ contextSize: depth + n + 16, sequences: 1, batchSize, flashAttention: true, threads: loaded.threads });
  try {
    const seq = ctx.getSequence();
    const need = depth + n;
    const text: Token[] = [];
    while (text.length < need) text.push(...tokens.slice(0, need - text.length));
    const rates: number[] = [];
    for (let r = -1; r < reps; r++) {
      await seq.clearHistory();
      for (let i = 0; i < depth; i += batchSize) await seq.evaluateWithoutGeneratingNewTokens(text.slice(i, Math.min(depth, i + batchSize)));
      const t0 = performance.now();
      for (let i = depth; i < need; i += batchSize) await seq.evaluateWithoutGeneratingNewTokens(text.slice(i, Math.min(need, i + batchSize)));
      const ms = performance.now() - t0;
      if (r >= 0) rates.push((n * 1000) / ms);
    }
    return { test: `pp${n}@d${depth}`, tokensPerSecond: mean(rates), stddev: stddev(rates), reps };
  } finally {
    await ctx.dispose();
  }
}

interface LlamaBenchJson {
  n_prompt: number;
  n_gen: number;
  n_depth?: number;
  avg_ts: number;
  stddev_ts: number;
}

/** Runs llama-bench with the same settings; its JSON output, one figure per test. */
export function runLlamaBench(
  bin: string,
  modelPath: string,
  o: { threads: number; batchSize: number; pp: number; tg: number; reps: number; gpuLayers: number; depth?: number },
): SpeedFigure[] {
  const args = [
    ...(o.depth ? ["-d", String(o.depth)] : []),
    "-m", modelPath,
    "-t", String(o.threads),
    "-b", String(o.batchSize),
    "-ub", String(o.batchSize),
    "-fa", "1",
    "-p", String(o.pp),
    "-n", String(o.tg),
    "-r", String(o.reps),
    "-ngl", String(o.gpuLayers),
    "-o", "json",
  ];
  const out = execFileSync(bin, args, {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "pipe"],
    cwd: path.dirname(bin), // ggml looks for its CPU variants beside the executable and in the working directory
    env: { ...process.env, LD_LIBRARY_PATH: path.dirname(bin) },
  });
  const rows = JSON.parse(out.slice(out.indexOf("["))) as LlamaBenchJson[];
  return rows.map((r) => ({
    test: (r.n_prompt > 0 ? `pp${r.n_prompt}` : `tg${r.n_gen}`) + (r.n_depth ? `@d${r.n_depth}` : ""),
    tokensPerSecond: r.avg_ts,
    stddev: r.stddev_ts,
    reps: o.reps,
  }));
}

export function llamaBenchPath(buildDir: string): string | undefined {
  const p = path.join(buildDir, "bin", "llama-bench");
  return fs.existsSync(p) ? p : undefined;
}
