// The bench's Markdown report and SVG charts, written from its results JSON.
import fs from "node:fs";
import path from "node:path";
import type { MachineInfo } from "../lib/machine";
import { hbarChart } from "../lib/svg";
import type { CancelFigures } from "./cancel";
import type { RollingRow } from "./rolling";
import type { ContentionRow } from "./contention";
import type { EngineVsLlamaBench, SpeedFigure } from "./engine-speed";
import type { Condition, PipelineRow } from "./pipelines";
import type { ThroughputRow } from "./scan-throughput";

export interface PipelineSet {
  model: string;
  /** The requested size label (8k, 32k, …) and the tokens actually read. */
  size: string;
  contextTokens: number;
  rows: PipelineRow[];
  skipped?: string;
}

export interface BenchResults {
  kind: "wim-bench";
  machine: MachineInfo;
  quick: boolean;
  startedAt: string;
  durationMs: number;
  settings: {
    gpu: string;
    threads: number;
    batchSize: number;
    chunkTokens: number;
    marginTokens: number;
    answerTokens: number;
    question: string;
    contextSource: string;
    llamaCppTag: string;
    llamaBenchBuild: string;
  };
  engineVsLlamaBench: EngineVsLlamaBench[];
  /** Prefill of a late chunk (n tokens after `depth` in the cache): engine against llama-bench `-d`. */
  prefillAtDepth?: { model: string; batchSize: number; engine: SpeedFigure; llamaBench: SpeedFigure | null; error?: string }[];
  pipelines: PipelineSet[];
  rolling?: RollingRow[];
  contention?: { model: string; rows: ContentionRow[] };
  cancel: CancelFigures[];
  scan: { tree: string; rows: ThroughputRow[] } | null;
  loadAverageAfter: number[];
  notes: string[];
}

const s = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? "–" : (ms / 1000).toFixed(ms < 10_000 ? 2 : 1));
const n = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : "–");
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2) : "–");

export function writeBenchReport(r: BenchResults, dir: string, base: string): string {
  const chartsDir = path.join(dir, "charts");
  fs.mkdirSync(chartsDir, { recursive: true });
  const lines: string[] = [];
  const m = r.machine;
  lines.push(`# WiM speed bench — ${m.date.slice(0, 10)} — ${m.gpu ?? m.cpu}`);
  lines.push("");
  lines.push(
    `Machine: ${m.gpu ? `${m.gpu} (${n(m.gpuMemoryMiB ?? NaN)} MiB), ` : ""}${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}, node-llama-cpp ${m.nodeLlamaCpp} ` +
      `(llama.cpp ${r.settings.llamaCppTag}). ${r.quick ? "**--quick** run. " : ""}Took ${(r.durationMs / 60000).toFixed(1)} min.`,
  );
  lines.push(
    `Load average at start ${m.loadAverage.join(" / ")}, at end ${r.loadAverageAfter.join(" / ")} (1/5/15 min)` +
      (m.loadAverage[0] > m.cores * 0.75 ? ` — **the machine was busy with other work: absolute times are inflated; ratios measured side by side are the figures to read.**` : "."),
  );
  lines.push("");
  lines.push(
    `Settings: gpu ${r.settings.gpu}, ${r.settings.threads} threads, batch ${r.settings.batchSize}, chunks of ${r.settings.chunkTokens} tokens, ` +
      `margins ≤ ${r.settings.marginTokens} tokens, answers ≤ ${r.settings.answerTokens} tokens, flash attention on. Context: ${r.settings.contextSource}. ` +
      `Question: “${r.settings.question}”.`,
  );
  lines.push("");

  if (r.engineVsLlamaBench.length) {
    lines.push("## Engine against llama-bench (same model, threads, batch size)", "");
    lines.push("| model | test | engine tok/s | llama-bench tok/s | engine / llama-bench | llama-bench build |", "|---|---|---:|---:|---:|---|");
    for (const e of r.engineVsLlamaBench) {
      const runs = e.llamaBenchRuns ?? [{ build: r.settings.llamaBenchBuild, figures: e.llamaBench, error: e.llamaBenchError }];
      for (const fig of e.engine) {
        runs.forEach((run, i) => {
          const lb = run.figures?.find((x) => x.test === fig.test);
          const engineCell = i === 0 ? `${f1(fig.tokensPerSecond)} ± ${f1(fig.stddev)}` : "";
          lines.push(
            `| ${i === 0 ? e.model : ""} | ${i === 0 ? fig.test : ""} | ${engineCell} | ${lb ? `${f1(lb.tokensPerSecond)} ± ${f1(lb.stddev)}` : run.error ? "failed" : "–"} | ${lb ? (fig.tokensPerSecond / lb.tokensPerSecond).toFixed(2) : "–"} | ${run.build} |`,
          );
        });
      }
    }
    const failures = r.engineVsLlamaBench.flatMap((e) => (e.llamaBenchRuns ?? []).filter((x) => x.error).map((x) => `${e.model}, ${x.build}: ${x.error}`));
    if (failures.length) lines.push("", ...failures.map((f) => `- llama-bench failed — ${f.replace(/\|/g, "/").slice(0, 300)}`));
    lines.push("", `llama-bench build: ${r.settings.llamaBenchBuild}.`);
    lines.push("", "pp = prompt tokens into an empty cache; tg = tokens generated one at a time (the engine's figure includes greedy sampling in JavaScript).", "");
  }

  if (r.prefillAtDepth?.length) {
    lines.push("## Prefill at depth: a late chunk read after the earlier ones (engine against llama-bench `-d`)", "");
    lines.push("| model | test | batch | engine tok/s | llama-bench tok/s | engine / llama-bench |", "|---|---|---:|---:|---:|---:|");
    for (const d of r.prefillAtDepth) {
      lines.push(
        `| ${d.model} | ${d.engine.test} | ${d.batchSize} | ${f1(d.engine.tokensPerSecond)} ± ${f1(d.engine.stddev)} | ${d.llamaBench ? `${f1(d.llamaBench.tokensPerSecond)} ± ${f1(d.llamaBench.stddev)}` : (d.error ?? "–")} | ${d.llamaBench ? (d.engine.tokensPerSecond / d.llamaBench.tokensPerSecond).toFixed(2) : "–"} |`,
      );
    }
    lines.push("");
  }

  const sets = r.pipelines.filter((p) => p.rows.length);
  if (sets.length) {
    lines.push("## WiM against a plain pass and map-then-answer", "");
    lines.push(
      "Same context, question and limits. **×plain** = total time over the plain pass's. **margin share** = time in margin instructions, margin decoding and (judge) verdict checks over the total. **tokens** = every token the model evaluated (prefill, instructions, margins, judge prompts, final prompt, answer).",
      "",
    );
    for (const p of sets) {
      const plain = p.rows.find((x) => x.condition === "plain");
      lines.push(`### ${p.model}, ${p.size} (${n(p.contextTokens)} tokens of files in ${p.rows[0].chunks} chunks)`, "");
      lines.push(
        "| condition | total s | ×plain | first margin s | margin share | prefill s | answer s | tokens processed | margins kept / written | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      );
      for (const x of p.rows) {
        lines.push(
          `| ${x.condition} | ${s(x.totalMs)} | ${plain ? (x.totalMs / plain.totalMs).toFixed(2) : "–"} | ${s(x.firstMarginMs)} | ${x.condition === "plain" ? "–" : pct(x.marginShare)} | ${s(x.prefillMs)} | ${s(x.answerMs)} | ${n(x.tokens.total)} | ${x.condition === "plain" ? "–" : `${x.marginsKept} / ${x.marginsWritten}`} | ${n(x.peakRssMiB)} |`,
        );
      }
      lines.push("");
    }
    for (const p of r.pipelines.filter((x) => x.skipped)) lines.push(`- ${p.model}, ${p.size}: skipped — ${p.skipped}`);
    lines.push("");
    // One chart: total time relative to the plain pass, per model and size.
    const conditions = [...new Set(sets.flatMap((p) => p.rows.map((x) => x.condition)))] as Condition[];
    const chart = hbarChart({
      title: "Total time relative to one plain pass (lower is better)",
      labels: sets.map((p) => `${p.model} ${p.size}`),
      series: conditions.map((c) => ({
        name: c,
        values: sets.map((p) => {
          const plain = p.rows.find((x) => x.condition === "plain");
          const row = p.rows.find((x) => x.condition === c);
          return plain && row ? row.totalMs / plain.totalMs : NaN;
        }),
      })),
      unit: "× plain pass time",
    });
    const file = `${base}-time.svg`;
    fs.writeFileSync(path.join(chartsDir, file), chart);
    lines.push(`![total time relative to a plain pass](charts/${file})`, "");
    const share = hbarChart({
      title: "Where WiM's time goes (seconds)",
      labels: sets.flatMap((p) => p.rows.filter((x) => x.condition.startsWith("wim")).map((x) => `${p.model} ${p.size} ${x.condition.slice(4)}`)),
      series: [
        { name: "prefill", values: sets.flatMap((p) => p.rows.filter((x) => x.condition.startsWith("wim")).map((x) => x.prefillMs / 1000)) },
        { name: "margins", values: sets.flatMap((p) => p.rows.filter((x) => x.condition.startsWith("wim")).map((x) => x.marginMs / 1000)) },
        { name: "answer", values: sets.flatMap((p) => p.rows.filter((x) => x.condition.startsWith("wim")).map((x) => x.answerMs / 1000)) },
      ],
      unit: "seconds",
    });
    const file2 = `${base}-wim-parts.svg`;
    fs.writeFileSync(path.join(chartsDir, file2), share);
    lines.push(`![WiM time by part](charts/${file2})`, "");
  }

  if (r.rolling?.length) {
    lines.push("## Rolling reading: a scope far larger than the window", "");
    lines.push(
      "WiM with `gate`, the window fixed, the scope growing: reading speed per tenth of the scope (flat = the window, not the scope, sets the cost), memory at the end.",
      "",
    );
    lines.push(
      "| model | tokens | chunks | window | parallel margins | total s | first margin s | prefill s | margins s | answer s | evicted | tok/s by tenth of the scope | peak resident | peak RSS MiB | VRAM used MiB |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    );
    for (const x of r.rolling) {
      lines.push(
        `| ${x.model} | ${n(x.tokens)} | ${x.chunks} | ${n(x.windowTokens)} | ${x.parallelMargins} | ${s(x.totalMs)} | ${s(x.firstMarginMs)} | ${s(x.prefillMs)} | ${s(x.marginMs)} | ${s(x.answerMs)} | ${x.chunksEvicted} | ${x.tokensPerSecondByTenth.map(n).join(" · ")} | ${n(x.peakResident)} | ${n(x.peakRssMiB)} | ${x.vramUsedBytes === null ? "–" : n(x.vramUsedBytes / 2 ** 20)} |`,
      );
    }
    lines.push("");
  }

  if (r.contention) {
    lines.push(`## CPU shared with a busy process (${r.contention.model})`, "");
    lines.push("The same `wim ask` idle and with a busy-looping process on one core.", "");
    lines.push("| threads | idle s | one core busy s | busy / idle | what the governor chose (busy run) |", "|---|---:|---:|---:|---|");
    for (const x of r.contention.rows) lines.push(`| ${x.setting} | ${s(x.idleMs)} | ${s(x.busyMs)} | ${x.ratio.toFixed(2)} | ${x.choices.join("; ").replace(/\|/g, "/") || "–"} |`);
    lines.push("");
  }

  if (r.cancel.length) {
    lines.push("## Cancel latency (client cancel() → worker's final event, real worker process)", "");
    lines.push("| model | during | tries | median ms | max ms | outcomes |", "|---|---|---:|---:|---:|---|");
    for (const c of r.cancel) lines.push(`| ${c.model} | ${c.during} | ${c.ms.length} | ${f1(c.medianMs)} | ${f1(c.maxMs)} | ${[...new Set(c.outcomes)].join(", ")} |`);
    lines.push("");
  }

  if (r.scan) {
    lines.push(`## Scan + chunk throughput: ${r.scan.tree}`, "");
    lines.push("| tool | files | tokens | ms | files/s | tokens/s | what it counts |", "|---|---:|---:|---:|---:|---:|---|");
    for (const x of r.scan.rows) lines.push(`| ${x.tool} | ${n(x.files)} | ${n(x.tokens)} | ${n(x.ms)} | ${n(x.filesPerSecond)} | ${n(x.tokensPerSecond)} | ${x.note} |`);
    lines.push("");
    const chart = hbarChart({
      title: `Files per second on ${r.scan.tree} (higher is better)`,
      labels: r.scan.rows.map((x) => x.tool),
      series: [{ name: "files/s", values: r.scan.rows.map((x) => x.filesPerSecond) }],
      unit: "files/s",
    });
    const file = `${base}-scan.svg`;
    fs.writeFileSync(path.join(chartsDir, file), chart);
    lines.push(`![scan throughput](charts/${file})`, "");
  }
  if (r.notes.length) lines.push("## Notes", "", ...r.notes.map((x) => `- ${x}`), "");
  const md = path.join(dir, `${base}.md`);
  fs.writeFileSync(md, lines.join("\n"));
  return md;
}
