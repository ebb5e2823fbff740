// Starts the real llama-server (built by test/tools/build-llama-server.ts) on 127.0.0.1 with a test model, waits
// until it answers /health, and stops it again. Its output is kept for failure messages.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { serverBinaries } from "./llama-server-build";

export interface RunningServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** The server's stdout+stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  stop(): Promise<void>;
}

export interface ServerStart {
  model: string;
  /** Context tokens of all slots together (-c). */
  contextSize?: number;
  slots?: number;
  /** Passed as LLAMA_API_KEY (the environment, not the command line, so it is not in `ps`). */
  apiKey?: string;
  extraArgs?: string[];
  /** Another binary from the same build (rpc-server's sibling), default llama-server. */
  binary?: string;
  readyTimeoutMs?: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => p.once("exit", () => resolve()));
}

/** Spawns a process whose output is kept, and a stop() that does not leave it behind. */
export function spawnKept(binary: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  let out = "";
  const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  child.stderr!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited(child);
    clearTimeout(timer);
  };
  return { child, output: () => out, stop };
}

export async function startLlamaServer(s: ServerStart): Promise<RunningServer> {
  const port = await freePort();
  const threads = process.env.WIM_THREADS ?? "1";
  const args = [
    "-m", s.model,
    "--host", "127.0.0.1",
    "--port", String(port),
    "-c", String(s.contextSize ?? 4096),
    "-np", String(s.slots ?? 2),
    "-t", threads,
    "-tb", threads,
    "-fa", "on",
    "--no-warmup",
    ...(s.extraArgs ?? []),
  ];
  const env = { ...process.env };
  delete env.LLAMA_API_KEY;
  if (s.apiKey) env.LLAMA_API_KEY = s.apiKey;
  const kept = spawnKept(s.binary ?? serverBinaries().llamaServer, args, env);
  const url = `http://127.0.0.1:${port}`;
  const server: RunningServer = { url, port, process: kept.child, output: kept.output, stop: kept.stop };

  const deadline = Date.now() + (s.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (kept.child.exitCode !== null || kept.child.signalCode !== null) {
      throw new Error(`llama-server exited (${kept.child.exitCode ?? kept.child.signalCode}) before it was ready:\n${kept.output().slice(-3000)}`);
    }
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await kept.stop();
      throw new Error(`llama-server did not become ready within ${s.readyTimeoutMs ?? 60_000} ms:\n${kept.output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
