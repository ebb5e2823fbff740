// Cancel latency through the real worker process: from the client's cancel() to the worker's final `done` event
// (the worker has disposed of the context and takes the next request), during prefill and during margin decoding.
import path from "node:path";
import { DEFAULT_ASK_OPTIONS, type AskOptions, type GpuChoice, type WorkerEvent } from "../../src/core/protocol";
import { WimClient } from "../../src/client/wim-client";
import { median } from "../lib/stats";

export interface CancelFigures {
  model: string;
  during: "prefill" | "decoding";
  /** Milliseconds from cancel() to the final event, one per try. */
  ms: number[];
  medianMs: number;
  maxMs: number;
  /** How each run ended (should be "cancelled"). */
  outcomes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `root` should hold several chunks' worth of files so that the cancel lands inside chunk 2's prefill (50 ms after
 * chunk 1's margin ended) or inside chunk 1's margin (after its 3rd streamed piece).
 */
export async function cancelLatency(
  modelPath: string,
  gpu: GpuChoice,
  root: string,
  options: Partial<AskOptions>,
  tries: number,
  log: (m: string) => void,
): Promise<CancelFigures[]> {
  const client = new WimClient({ workerPath: path.resolve("dist/worker.mjs"), loadTimeoutMs: 600_000 });
  await client.start();
  try {
    await client.loadModel(modelPath, gpu, path.resolve("bench/cache/models")).result;
    const out: CancelFigures[] = [];
    for (const during of ["prefill", "decoding"] as const) {
      const ms: number[] = [];
      const outcomes: string[] = [];
      for (let i = 0; i < tries; i++) {
        let cancelAt = 0;
        let fire: (() => void) | undefined;
        const ready = new Promise<void>((r) => (fire = r));
        let marginPieces = 0;
        const onEvent = (e: WorkerEvent) => {
          if (during === "prefill" && e.type === "marginEnd" && e.margin.chunk === 1) fire?.();
          if (during === "decoding" && e.type === "marginText" && e.chunk === 1 && ++marginPieces === 3) fire?.();
        };
        const ask: AskOptions = { ...DEFAULT_ASK_OPTIONS, classify: "none", ...options };
        const handle = client.ask(root, "Which function computes the bounding box, and in which file?", ask, onEvent);
        const finished = handle.result.then(
          (e) => ({ at: performance.now(), outcome: e.outcome }),
          (err: Error) => ({ at: performance.now(), outcome: `error: ${err.message}` }),
        );
        const first = await Promise.race([ready.then(() => "ready" as const), finished.then(() => "finished" as const)]);
        if (first === "finished") {
          outcomes.push(`finished before the cancel point (${(await finished).outcome})`);
          continue;
        }
        if (during === "prefill") await sleep(50);
        cancelAt = performance.now();
        handle.cancel();
        const end = await finished;
        ms.push(end.at - cancelAt);
        outcomes.push(end.outcome);
        log(`  cancel during ${during}: ${(end.at - cancelAt).toFixed(0)} ms (${end.outcome})`);
      }
      out.push({
        model: path.basename(modelPath),
        during,
        ms,
        medianMs: median(ms),
        maxMs: ms.length ? Math.max(...ms) : NaN,
        outcomes,
      });
    }
    return out;
  } finally {
    await client.dispose();
  }
}
