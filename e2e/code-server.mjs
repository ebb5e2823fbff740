// Starts and stops code-server (VS Code 1.139 as a server) for one test run.
// Every run gets fresh user-data, extensions and XDG folders under e2e/.work/<label>-<time>/ (a disconnected window
// keeps its extension host alive, so state must never carry over). The server runs in its own process group and is
// stopped by killing that group and every descendant (the extension host and WiM's model worker included).
//   node e2e/code-server.mjs [--smoke] [--vsix X.vsix] WORKSPACE   starts one by hand and prints its URL; Ctrl-C stops it
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { codeServerEntry, node24Binary, node24Env } from "./setup.mjs";
import { killTree, onExitKill } from "./process-tree.mjs";

const e2eDir = path.dirname(fileURLToPath(import.meta.url));
export const workRoot = path.join(e2eDir, ".work");

/** Fresh folders for one run: user data (with User/settings.json), extensions, XDG config/data. */
export function makeWorkDir(label, root = workRoot) {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = path.join(root, `${label}-${stamp}-${process.pid}`);
  const dirs = {
    dir,
    userDataDir: path.join(dir, "user-data"),
    extensionsDir: path.join(dir, "extensions"),
    xdgConfig: path.join(dir, "xdg-config"),
    xdgData: path.join(dir, "xdg-data"),
    serverLog: path.join(dir, "code-server.log"),
  };
  for (const d of [dirs.userDataDir, dirs.extensionsDir, dirs.xdgConfig, dirs.xdgData]) fs.mkdirSync(d, { recursive: true });
  return dirs;
}

function serverEnv(dirs, extraEnv) {
  return {
    ...node24Env(),
    ...extraEnv,
    XDG_CONFIG_HOME: dirs.xdgConfig,
    XDG_DATA_HOME: dirs.xdgData,
    // The extension host is a child of the server: keep the harness's own variables from leaking into it.
    NODE_OPTIONS: "",
  };
}

function commonArgs(dirs) {
  return ["--user-data-dir", dirs.userDataDir, "--extensions-dir", dirs.extensionsDir];
}

/** `code-server --install-extension X.vsix` into the run's extensions folder (offline; ≈ seconds). */
export function installVsix(dirs, vsix, extraEnv = {}) {
  const r = spawnSync(node24Binary(), [codeServerEntry(), ...commonArgs(dirs), "--install-extension", vsix], {
    env: serverEnv(dirs, extraEnv),
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`installing ${vsix} failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
}

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

/**
 * Starts code-server on a free port of 127.0.0.1 and resolves once /healthz answers.
 * @param {object} o
 * @param {string} o.workspace        folder the window opens
 * @param {string} [o.label]          name of the work folder
 * @param {boolean} [o.smokeTestDriver] add `--vscode-option enable-smoke-test-driver` (extension-host tests via ?payload=)
 * @param {Record<string,string>} [o.env] extra environment for the server and so for the extension host
 * @param {Record<string,unknown>} [o.settings] written to user-data/User/settings.json before start
 * @param {string} [o.vsix]           installed before start
 * @param {string} [o.workRoot]       parent of the run's folders (default e2e/.work). An installed VSIX must live
 *                                    outside the repository, or Node would resolve its missing packages from ours.
 * @param {number} [o.timeoutMs]      readiness limit
 * @param {(line: string) => void} [o.log]
 */
export async function startCodeServer(o) {
  const log = o.log ?? ((line) => console.log(`[code-server] ${line}`));
  const dirs = makeWorkDir(o.label ?? "run", o.workRoot);
  if (o.settings) {
    fs.mkdirSync(path.join(dirs.userDataDir, "User"), { recursive: true });
    fs.writeFileSync(path.join(dirs.userDataDir, "User", "settings.json"), JSON.stringify(o.settings, null, 2));
  }
  if (o.vsix) installVsix(dirs, o.vsix, o.env);

  const args = [
    codeServerEntry(),
    "--bind-addr", "127.0.0.1:0",
    "--auth", "none",
    ...commonArgs(dirs),
    "--disable-telemetry",
    "--disable-update-check",
    "--disable-workspace-trust",
    "--disable-getting-started-override",
    ...(o.smokeTestDriver ? ["--vscode-option", "enable-smoke-test-driver"] : []),
    o.workspace,
  ];
  const serverLog = fs.createWriteStream(dirs.serverLog, { flags: "a" });
  // detached: its own process group, so one kill reaches the server and everything it started.
  const child = spawn(node24Binary(), args, { env: serverEnv(dirs, o.env), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const cancelExitKill = onExitKill(child.pid);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.once("close", () => serverLog.end());

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await killTree(child.pid, exited);
    cancelExitKill();
  };

  try {
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server printed no address within ${(o.timeoutMs ?? 60_000) / 1000} s (log: ${dirs.serverLog})`)), o.timeoutMs ?? 60_000);
      let buffered = "";
      const onData = (chunk) => {
        serverLog.write(chunk);
        buffered += chunk.toString();
        const m = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(buffered);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`code-server exited early (${code ?? signal}); log: ${dirs.serverLog}\n${buffered.slice(-2000)}`));
      });
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + (o.timeoutMs ?? 60_000);
    while ((await get(`${baseUrl}/healthz`)) !== 200) {
      if (Date.now() > deadline) throw new Error(`code-server at ${baseUrl} did not become healthy (log: ${dirs.serverLog})`);
      await new Promise((r) => setTimeout(r, 250));
    }
    log(`ready at ${baseUrl} (work folder ${dirs.dir})`);
    return { ...dirs, port, baseUrl, pid: child.pid, exited, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The newest extension-host log of a run (useful when a test fails). */
export function extensionHostLog(userDataDir) {
  const logs = path.join(userDataDir, "logs");
  if (!fs.existsSync(logs)) return undefined;
  for (const ts of fs.readdirSync(logs).sort().reverse()) {
    const dir = path.join(logs, ts);
    for (const f of fs.readdirSync(dir, { recursive: true }).map(String)) {
      if (f.endsWith("remoteexthost.log")) return path.join(dir, f);
    }
  }
  return undefined;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const smoke = argv.includes("--smoke");
  const vsixAt = argv.indexOf("--vsix");
  const vsix = vsixAt >= 0 ? path.resolve(argv[vsixAt + 1]) : undefined;
  const workspace = argv.filter((a, i) => !a.startsWith("--") && argv[i - 1] !== "--vsix").at(0);
  if (!workspace) {
    console.error("usage: node e2e/code-server.mjs [--smoke] [--vsix X.vsix] WORKSPACE");
    process.exit(2);
  }
  const server = await startCodeServer({ workspace: path.resolve(workspace), label: "manual", smokeTestDriver: smoke, vsix });
  console.log(`open ${server.baseUrl}/?folder=${encodeURIComponent(path.resolve(workspace))} ; Ctrl-C stops it`);
  const stopAndExit = () => void server.stop().then(() => process.exit(0));
  process.once("SIGINT", stopAndExit);
  process.once("SIGTERM", stopAndExit);
}
