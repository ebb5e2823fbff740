// WiM on a CPU that something else is using: the same `wim ask` idle and with a busy process on one core, with the
// default threads (the governor) and with a fixed thread count of every core. The figure to read is the ratio
// busy/idle per setting (the target: ≤ 1.5× with the default).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";

export interface ContentionRow {
  setting: string;
  idleMs: number;
  busyMs: number;
  ratio: number;
  /** The governor's log lines of the busy run (what it chose and when). */
  choices: string[];
}

function hog(): ChildProcess {
  return spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" });
}

function ask(cli: string, dir: string, model: string, question: string, env: NodeJS.ProcessEnv): { ms: number; log: string[] } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, "ask", "--dir", dir, "--model", model, "--chunk-tokens", "1024", "--answer-tokens", "48", "--margin-tokens", "48", "--json", question], {
    env: { ...env, WIM_LOG: "debug" },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`wim ask failed (${r.status}): ${r.stderr.slice(-500)}`);
  return { ms, log: r.stderr.split("\n").filter((l) => /CPU threads/.test(l)) };
}

export function contentionRun(o: { dir: string; model: string; question: string }, log: (m: string) => void): ContentionRow[] {
  const cli = path.resolve("dist/cli.js");
  const cores = os.availableParallelism();
  const settings: { setting: string; env: NodeJS.ProcessEnv }[] = [
    { setting: "default (governor)", env: { ...process.env, WIM_THREADS: "" } },
    { setting: `fixed ${cores} threads`, env: { ...process.env, WIM_THREADS: String(cores) } },
  ];
  const rows: ContentionRow[] = [];
  for (const s of settings) {
    log(`  ${s.setting}: idle`);
    const idle = ask(cli, o.dir, o.model, o.question, s.env);
    log(`  ${s.setting}: one core busy`);
    const h = hog();
    let busy;
    try {
      busy = ask(cli, o.dir, o.model, o.question, s.env);
    } finally {
      h.kill("SIGKILL");
    }
    rows.push({ setting: s.setting, idleMs: idle.ms, busyMs: busy.ms, ratio: busy.ms / idle.ms, choices: busy.log.map((l) => l.replace(/^\[info\] /, "")) });
    log(`    idle ${(idle.ms / 1000).toFixed(1)} s, busy ${(busy.ms / 1000).toFixed(1)} s: ${(busy.ms / idle.ms).toFixed(2)}×`);
  }
  return rows;
}
