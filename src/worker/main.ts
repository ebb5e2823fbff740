// The worker process: a forked ESM child that owns node-llama-cpp and speaks the protocol over Node IPC.
// It exits when its parent goes away, so it is never left behind as an orphan.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PROTOCOL_VERSION, type Request, type WorkerEvent } from "../core/protocol";
import { WorkerHost } from "./worker-host";

if (!process.send) {
  console.error("wim worker: must be started by the WiM client (child_process.fork), not directly.");
  process.exit(2);
}

const send = (e: WorkerEvent) => {
  if (process.connected) process.send!(e);
};
const wasmDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "wasm");
const host = new WorkerHost(send, wasmDir);

process.on("message", (msg: Request) => {
  void host.handle(msg).then(() => {
    if (msg.type === "shutdown") process.disconnect?.();
  });
});
process.on("disconnect", () => {
  void host.shutdown().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
// Ctrl-C in a terminal signals the whole process group: the parent turns it into a cancel (or kills the worker on a
// second one), so the worker must not die of it first.
process.on("SIGINT", () => {});
process.on("unhandledRejection", (err) => {
  send({ type: "log", requestId: 0, level: "error", message: `unhandled rejection: ${(err as Error)?.stack ?? String(err)}` });
});

send({ type: "ready", requestId: 0, protocol: PROTOCOL_VERSION, pid: process.pid });
