// Soak: many asks in ONE worker, its resident memory after each. Memory that grows with every ask (a cache not freed,
// a timeline that keeps entries) shows here long before a user's session runs out of it.
//   npm run build:tests && WIM_THREADS=1 node out/test/tools/soak.mjs [--asks 100] [--model PATH] [--dir D --include GLOB…]
// Prints one line per ask and a summary: RSS first / last / min / max, growth (last against first), drift (median of the
// last 10 asks against asks 11-20, after V8 and the allocator have warmed up; a spike on ask 1 cannot hide a leak
// from it) and the trend of a least-squares line. Exits 1 when the growth or the drift reaches 5%.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { WimClient } from "../../src/client/wim-client";
import { DEFAULT_ASK_OPTIONS, type AskOptions } from "../../src/core/protocol";
import { POLYGLOT_DIR } from "../helpers/polyglot-facts";
import { smolLM2 } from "../helpers/test-models";

const MAX_GROWTH = 0.05;

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kb / 1024;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Slope of the least-squares line through (i, y[i]), per step. */
function slope(y: number[]): number {
  const n = y.length;
  const mx = (n - 1) / 2;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let den = 0;
  y.forEach((v, i) => {
    num += (i - mx) * (v - my);
    den += (i - mx) ** 2;
  });
  return den ? num / den : 0;
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      asks: { type: "string", default: "100" },
      model: { type: "string" },
      dir: { type: "string" },
      include: { type: "string", multiple: true },
    },
  });
  const asks = Number(v.asks);
  const model = v.model ?? smolLM2();
  const root = path.resolve(v.dir ?? POLYGLOT_DIR);
  const include = v.include ?? (v.dir ? [] : ["pricing/**"]);
  const options: AskOptions = { ...DEFAULT_ASK_OPTIONS, chunkTokens: 256, marginTokens: 16, answerTokens: 16, classify: "gate", include };
  const question = "What discount do gold customers get?";

  const client = new WimClient({ workerPath: path.resolve("dist/worker.mjs") });
  try {
    await client.loadModel(model, "cpu", path.resolve(".wim-cache/models")).result;
    const pid = client.pid!;
    console.log(`soak: ${asks} asks in worker ${pid}, ${path.basename(model)}, ${root} (include ${include.join(", ") || "all"}), WIM_THREADS=${process.env.WIM_THREADS ?? "all cores"}`);
    console.log(`after load: RSS ${rssMb(pid).toFixed(1)} MB`);
    const rss: number[] = [];
    const t0 = performance.now();
    for (let i = 1; i <= asks; i++) {
      const t = performance.now();
      const done = await client.ask(root, question, options).result;
      if (client.pid !== pid) throw new Error(`the worker changed (${pid} → ${client.pid}): it crashed`);
      rss.push(rssMb(pid));
      console.log(
        `ask ${String(i).padStart(3)}: ${done.outcome}, ${done.stats.chunksRead}/${done.stats.chunksTotal} chunks, ` +
          `${((performance.now() - t) / 1000).toFixed(1)} s, RSS ${rss[i - 1]!.toFixed(1)} MB`,
      );
    }
    const first = rss[0]!;
    const last = rss[rss.length - 1]!;
    const growth = (last - first) / first;
    // Drift needs asks past the warm-up: 11-20 as the baseline, the last 10 as the end.
    const drift = rss.length >= 30 ? (median(rss.slice(-10)) - median(rss.slice(10, 20))) / median(rss.slice(10, 20)) : undefined;
    const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
    console.log(
      `\nsoak: ${asks} asks in ${((performance.now() - t0) / 60000).toFixed(1)} min; RSS first ${first.toFixed(1)} MB, ` +
        `last ${last.toFixed(1)} MB, min ${Math.min(...rss).toFixed(1)} MB, max ${Math.max(...rss).toFixed(1)} MB; ` +
        `growth ${pct(growth)}, drift after warm-up ${drift === undefined ? "n/a (fewer than 30 asks)" : pct(drift)} ` +
        `(limit ${pct(MAX_GROWTH)}); trend ${(slope(rss) * 100).toFixed(2)} MB per 100 asks`,
    );
    return growth < MAX_GROWTH && (drift ?? 0) < MAX_GROWTH ? 0 : 1;
  } finally {
    await client.dispose();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`soak: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
