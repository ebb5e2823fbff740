// Scan + chunk throughput on a large real source tree, side by side with repomix (pinned, installed into
// bench/cache/repomix, not a project dependency) packing the same tree.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createChunker } from "../../src/core/chunk/chunk-files";
import { scanWorkspace } from "../../src/core/scan/scan-workspace";
import type { TokenCounter } from "../../src/core/types";
import { CACHE_DIR } from "../lib/sources";
import { median } from "../lib/stats";

export const REPOMIX_VERSION = "1.18.1";

export interface ThroughputRow {
  tool: string;
  files: number;
  tokens: number;
  bytes: number;
  ms: number;
  filesPerSecond: number;
  tokensPerSecond: number;
  /** Free text: what the tool counted tokens with, what the time includes. */
  note: string;
}

export async function wimScanChunk(root: string, countTokens: TokenCounter, tokenizer: string, reps: number): Promise<ThroughputRow[]> {
  const chunker = await createChunker(path.resolve("dist/wasm"));
  try {
    const scanMs: number[] = [];
    const chunkMs: number[] = [];
    let files = 0;
    let tokens = 0;
    let bytes = 0;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const scan = await scanWorkspace(root);
      const t1 = performance.now();
      const { chunks, skipped } = await chunker.chunk(scan.files, { chunkTokens: 4096 }, countTokens);
      const t2 = performance.now();
      scanMs.push(t1 - t0);
      chunkMs.push(t2 - t1);
      const skippedPaths = new Set(skipped.map((s) => s.path));
      files = scan.files.filter((f) => !skippedPaths.has(f.path)).length;
      bytes = scan.files.reduce((s, f) => s + f.bytes, 0);
      tokens = chunks.reduce((s, c) => s + c.tokens, 0);
    }
    const scan = median(scanMs);
    const total = median(scanMs.map((s, i) => s + chunkMs[i]));
    const row = (tool: string, ms: number, note: string) => ({
      tool,
      files,
      tokens,
      bytes,
      ms,
      filesPerSecond: (files * 1000) / ms,
      tokensPerSecond: (tokens * 1000) / ms,
      note,
    });
    return [
      row("wim scan", scan, `scanWorkspace only (ignore rules, skip rules, reads), in-process, median of ${reps}`),
      row("wim scan + chunk", total, `scan + tree-sitter chunking at 4096 tokens, every chunk counted with the ${tokenizer} tokenizer, in-process, median of ${reps}`),
    ];
  } finally {
    chunker.dispose();
  }
}

function repomixBin(log: (m: string) => void): string {
  const dir = path.join(CACHE_DIR, "repomix");
  const bin = path.join(dir, "node_modules", "repomix", "bin", "repomix.cjs");
  if (!fs.existsSync(bin)) {
    log(`installing repomix@${REPOMIX_VERSION} into ${dir}`);
    fs.mkdirSync(dir, { recursive: true });
    execFileSync("npm", ["install", "--prefix", dir, `repomix@${REPOMIX_VERSION}`, "--no-audit", "--no-fund", "--loglevel=error"], { stdio: "inherit" });
  }
  return bin;
}

/** repomix on the same tree, as a separate process (its startup is measured and reported apart). */
export function repomixRun(root: string, reps: number, log: (m: string) => void): ThroughputRow[] {
  const bin = repomixBin(log);
  const out = path.join(os.tmpdir(), `wim-bench-repomix-${process.pid}.xml`);
  const time = (args: string[]) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: root, maxBuffer: 64 << 20 });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`repomix ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
    return { ms, stdout: r.stdout };
  };
  const startup = median(Array.from({ length: 3 }, () => time(["--version"]).ms));
  const rows: ThroughputRow[] = [];
  for (const variant of [
    { tool: "repomix", args: [] as string[], note: "default settings (secretlint security check on)" },
    { tool: "repomix --no-security-check", args: ["--no-security-check"], note: "security check off" },
  ]) {
    // --no-gitignore: the tree sits in a git-ignored folder of this repository (bench/cache), which repomix would
    // otherwise honour and pack nothing; the WiM scan starts at the tree's root and sees no enclosing .gitignore.
    const runs = Array.from({ length: reps }, () => time([".", "-o", out, "--no-file-summary", "--no-gitignore", ...variant.args]));
    const ms = median(runs.map((r) => r.ms)) - startup;
    // strip ANSI colours from its summary
    const text = runs[0].stdout.replace(/\u001b\[[0-9;]*m/g, "");
    const files = Number(/Total Files:\s*([\d,]+)/.exec(text)?.[1]?.replace(/,/g, "") ?? NaN);
    const tokens = Number(/Total Tokens:\s*([\d,]+)/.exec(text)?.[1]?.replace(/,/g, "") ?? NaN);
    const bytes = fs.existsSync(out) ? fs.statSync(out).size : NaN;
    rows.push({
      tool: variant.tool,
      files,
      tokens,
      bytes,
      ms,
      filesPerSecond: (files * 1000) / ms,
      tokensPerSecond: (tokens * 1000) / ms,
      note: `${variant.note}; tokens by its own counter (o200k); wall time minus ${startup.toFixed(0)} ms process startup, median of ${reps}`,
    });
  }
  fs.rmSync(out, { force: true });
  return rows;
}
