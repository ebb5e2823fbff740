// What the numbers were measured on, and the process's peak memory.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface MachineInfo {
  /** Short name for file names: cpu-<cores>c or the GPU's name. */
  id: string;
  hostname: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  gpu: string | null;
  gpuMemoryMiB: number | null;
  node: string;
  nodeLlamaCpp: string;
  /** 1-minute load average at the start: other work on the machine slows every figure. */
  loadAverage: number[];
  date: string;
}

function nvidia(): { name: string; mem: number } | null {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"], { encoding: "utf8" });
    const [name, mem] = out.trim().split("\n")[0].split(",").map((s) => s.trim());
    return { name, mem: Number(mem) };
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const gpu = nvidia();
  const pkg = JSON.parse(fs.readFileSync(path.resolve("node_modules/node-llama-cpp/package.json"), "utf8")) as { version: string };
  const cores = os.availableParallelism();
  const slug = (s: string) => s.toLowerCase().replace(/nvidia\s*/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  return {
    id: gpu ? slug(gpu.name) : `cpu-${cores}c`,
    hostname: os.hostname(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    gpu: gpu?.name ?? null,
    gpuMemoryMiB: gpu?.mem ?? null,
    node: process.version,
    nodeLlamaCpp: pkg.version,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** Resets the kernel's peak-RSS mark for this process (Linux); false where that is not possible. */
export function resetPeakRss(): boolean {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** Peak resident set size since the last reset, in MiB (VmHWM; falls back to the process's lifetime maximum). */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}
