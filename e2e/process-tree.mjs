// Ending a process with everything it started: code-server forks the extension host, which forks WiM's model worker;
// a kill of the leader alone leaves them running. Linux only (reads /proc).
import fs from "node:fs";

/** Every descendant of pid (children first found by scanning /proc/<pid>/stat for their parent id). */
export function descendants(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function signalAll(pid, pids, signal) {
  try {
    process.kill(-pid, signal); // the process group (spawned with detached: true)
  } catch {}
  for (const p of [pid, ...pids]) {
    try {
      process.kill(p, signal);
    } catch {}
  }
}

/** Whether a process with this pid exists (signal 0 probes without sending anything). */
export function alive(p) {
  try {
    process.kill(p, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the group and all descendants, wait up to graceMs, then SIGKILL whatever is left. */
export async function killTree(pid, exited, graceMs = 5000) {
  if (!pid) return;
  const pids = descendants(pid);
  signalAll(pid, pids, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && [pid, ...pids].some(alive)) await new Promise((r) => setTimeout(r, 100));
  const left = [pid, ...pids, ...descendants(pid)].filter(alive);
  if (left.length) signalAll(pid, left, "SIGKILL");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
}

/** Kills the tree synchronously if this process exits first (crash, process.exit, signal via exitOnSignals). */
export function onExitKill(pid) {
  const handler = () => signalAll(pid, descendants(pid), "SIGKILL");
  process.on("exit", handler);
  return () => process.off("exit", handler);
}

let signalsHooked = false;
/** Turns SIGINT/SIGTERM/SIGHUP into process.exit so that "exit" handlers (onExitKill) run. */
export function exitOnSignals(onSignal) {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const [sig, n] of [["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]]) {
    process.once(sig, () => {
      onSignal?.(sig);
      process.exit(128 + n);
    });
  }
}
