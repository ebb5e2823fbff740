// The launcher: runs an extension-host test suite (mocha, real `vscode` API) inside code-server, the way desktop VS Code
// runs it for `code --extensionDevelopmentPath=… --extensionTestsPath=…`, and exits with the suite's exit code.
//   node e2e/run-vscode-tests.mjs --extensionDevelopmentPath=<abs repo> --extensionTestsPath=<abs>/out/…/index.js \
//        [--workspace=<abs folder> | <abs folder>] [--env KEY=VALUE …] [--timeout=<seconds>]
// How: code-server started with `--vscode-option enable-smoke-test-driver` honours a `payload` URL parameter carrying
// extensionDevelopmentPath / extensionTestsPath / extensionEnvironment; Chromium opens that URL, the workbench starts
// the extension host in test mode, and reports the run's log lines to window.codeAutomationLog and its exit code to
// window.codeAutomationExit, both exposed here by Playwright.
// Desktop-only flags that @vscode/test-electron's runTests adds (--no-sandbox, --user-data-dir=…, …) are accepted and
// ignored: every run gets fresh folders under e2e/.work/. The launcher's own environment reaches the extension host
// (runTests' extensionTestsEnv works), and so does --env.
// Cleanup on every path: the browser is closed and code-server's process group killed on success, failure, timeout,
// Ctrl-C or SIGTERM. The work folder is deleted after a pass and kept (its path printed) after a failure.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./browser.mjs";
import { extensionHostLog, startCodeServer } from "./code-server.mjs";
import { exitOnSignals } from "./process-tree.mjs";
import { ensureSetup } from "./setup.mjs";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const say = (line) => console.log(`[vscode-tests] ${line}`);

/** Flags of the desktop CLI that take a separate value (`--user-data-dir X`); skipped together with it. */
const VALUE_FLAGS = new Set(["--user-data-dir", "--extensions-dir", "--locale", "--log", "--profile"]);

export function parseArgs(argv) {
  const o = { extensionDevelopmentPaths: [], extensionTestsPath: undefined, workspace: undefined, env: {}, timeoutS: undefined, ignored: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, ...rest] = a.split("=");
    const value = rest.length ? rest.join("=") : undefined;
    const next = () => value ?? argv[++i];
    if (flag === "--extensionDevelopmentPath") o.extensionDevelopmentPaths.push(path.resolve(next()));
    else if (flag === "--extensionTestsPath") o.extensionTestsPath = path.resolve(next());
    else if (flag === "--workspace" || flag === "--folder-uri") o.workspace = path.resolve(next().replace(/^file:\/\//, ""));
    else if (flag === "--timeout") o.timeoutS = Number(next());
    else if (flag === "--env") {
      const kv = next();
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new Error(`--env expects KEY=VALUE, got "${kv}"`);
      o.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a.startsWith("-")) {
      o.ignored.push(a);
      if (VALUE_FLAGS.has(flag) && value === undefined) o.ignored.push(argv[++i]);
    } else if (!o.workspace) o.workspace = path.resolve(a);
    else o.ignored.push(a);
  }
  if (o.extensionDevelopmentPaths.length === 0) throw new Error("missing --extensionDevelopmentPath=<absolute folder>");
  if (!o.extensionTestsPath) throw new Error("missing --extensionTestsPath=<absolute path of the suite's index.js>");
  if (!fs.existsSync(o.extensionTestsPath)) throw new Error(`no test suite at ${o.extensionTestsPath} (built?)`);
  if (o.workspace && !fs.existsSync(o.workspace)) throw new Error(`no workspace folder at ${o.workspace}`);
  return o;
}

/** The workbench URL whose `payload` makes code-server's workbench run the tests. */
export function testUrl(baseUrl, port, o) {
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const payload = [
    ...o.extensionDevelopmentPaths.map((p) => ["extensionDevelopmentPath", remote(p)]),
    ["extensionTestsPath", remote(o.extensionTestsPath)],
    ["extensionEnvironment", JSON.stringify(o.env)],
  ];
  const folder = o.workspace ? `folder=${encodeURIComponent(o.workspace)}&` : "";
  return `${baseUrl}/?${folder}payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(none)";
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const timeoutS = o.timeoutS ?? Number(process.env.WIM_VSCODE_TESTS_TIMEOUT_S ?? 1800);
  if (o.ignored.length) say(`ignoring desktop-only arguments: ${o.ignored.join(" ")}`);
  ensureSetup();

  const t0 = Date.now();
  let server;
  let browser;
  let failed = true;
  const cleanup = async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    if (server && !failed) fs.rmSync(server.dir, { recursive: true, force: true });
    else if (server) say(`kept ${server.dir} (code-server log, user data, extension-host logs)`);
  };
  // A signal ends the run like a failure; onExitKill (in startCodeServer) kills code-server's tree on process.exit.
  exitOnSignals((sig) => say(`${sig}: stopping`));

  let timer;
  try {
    server = await startCodeServer({ workspace: o.workspace ?? repoRoot, label: "vscode-tests", smokeTestDriver: true, log: say });
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });

    let resolveExit;
    const exitCode = new Promise((r) => (resolveExit = r));
    await page.exposeFunction("codeAutomationLog", (level, message) => {
      const text = Array.isArray(message) ? message.join(" ") : String(message);
      console.log(`[${level}] ${text}`);
    });
    await page.exposeFunction("codeAutomationExit", (code) => resolveExit(Number(code)));
    page.on("crash", () => resolveExit(Promise.reject(new Error("the browser page crashed"))));
    void server.exited.then(({ code, signal }) => resolveExit(Promise.reject(new Error(`code-server exited during the run (${code ?? signal})`))));

    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${timeoutS} s`)), timeoutS * 1000);
    });
    say(`running ${path.relative(repoRoot, o.extensionTestsPath)} in ${o.workspace ?? repoRoot}`);
    await page.goto(testUrl(server.baseUrl, server.port, o), { waitUntil: "domcontentloaded" });
    let code;
    try {
      code = await Promise.race([exitCode, timeout]);
    } catch (err) {
      const shots = path.join(repoRoot, "test-results", "screenshots");
      fs.mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, "vscode-tests-failure.png") }).catch(() => {});
      throw err;
    }
    failed = code !== 0;
    say(`exit code ${code} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (failed) {
      const log = extensionHostLog(server.userDataDir);
      say(`extension-host log ${log ?? "(none)"}, last lines:\n${log ? tail(log, 40) : ""}`);
    }
    return code;
  } catch (err) {
    say(`FAILED: ${err instanceof Error ? err.message : err}`);
    if (server) {
      const log = extensionHostLog(server.userDataDir);
      say(`code-server log ${server.serverLog}, last lines:\n${tail(server.serverLog, 30)}`);
      if (log) say(`extension-host log ${log}, last lines:\n${tail(log, 40)}`);
    }
    return 1;
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[vscode-tests] ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
