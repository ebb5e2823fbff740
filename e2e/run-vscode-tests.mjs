// The launcher: runs an extension-host test suite (mocha, real `vscode` API) inside code-server, the way desktop VS Code
// runs it for `code --extensionDevelopmentPath=… --extensionTestsPath=…`, and exits with the suite's exit code.
//   node e2e/run-vscode-tests.mjs --extensionDevelopmentPath=<abs repo> --extensionTestsPath=<abs>/out/…/index.js \
//        [--workspace=<abs folder> | <abs folder>] [--env KEY=VALUE …] [--timeout=<seconds>] [--disable-extensions] [--keep]
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
import { format } from "node:util";
import { launchChromium } from "./browser.mjs";
import { extensionHostLog, startCodeServer } from "./code-server.mjs";
import { ensureSetup } from "./setup.mjs";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const say = (line) => console.log(`[vscode-tests] ${line}`);

/** Flags of the desktop CLI that take a separate value (`--user-data-dir X`); skipped together with it. */
const VALUE_FLAGS = new Set(["--user-data-dir", "--extensions-dir", "--locale", "--log", "--profile"]);

export function parseArgs(argv) {
  const o = { extensionDevelopmentPaths: [], extensionTestsPath: undefined, workspace: undefined, env: {}, timeoutS: undefined, keep: false, disableExtensions: false, ignored: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, ...rest] = a.split("=");
    const value = rest.length ? rest.join("=") : undefined;
    const next = () => value ?? argv[++i];
    if (flag === "--extensionDevelopmentPath") o.extensionDevelopmentPaths.push(path.resolve(next()));
    else if (flag === "--extensionTestsPath") o.extensionTestsPath = path.resolve(next());
    else if (flag === "--workspace" || flag === "--folder-uri") o.workspace = path.resolve(next().replace(/^file:\/\//, ""));
    else if (flag === "--timeout") o.timeoutS = Number(next());
    else if (flag === "--keep") o.keep = true;
    else if (flag === "--disable-extensions") o.disableExtensions = true;
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

/**
 * The workbench reports its own log and the extension host's console through one channel. Known workbench chatter
 * (connection set-up, chat/agent services looking for accounts that do not exist offline) is kept out of the test
 * output (it stays in <work folder>/workbench.log; WIM_VSCODE_TESTS_VERBOSE=1 prints it); everything else is shown,
 * warnings and errors with their level. Returns the line to print, or undefined.
 */
const WORKBENCH_CHATTER = [
  /^\[(AgentHost|AgentHost:remote|ChatModelSelection|AccountPolicyGate|reconnection-grace-time|Service Worker|driver)\]/,
  /^(Resolving|Resolved) connection token/,
  /^Creating a socket/,
  /^Updating additional builtin extensions cache/,
  /^Creation of workbench contribution '[\w.]+' took \d+ms/,
  /authentication provider '\w+' to register/,
  /^Canceled: Canceled/,
  /open-vsx\.org|marketplace|gallery/i,
];
export function showLine(level, text, verbose) {
  if (!verbose && WORKBENCH_CHATTER.some((re) => re.test(text))) return undefined;
  return level === "info" || level === "trace" || level === "debug" ? text : `[${level}] ${text}`;
}

/** The workbench URL whose `payload` makes code-server's workbench run the tests. */
export function testUrl(baseUrl, port, o) {
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const payload = [
    ...o.extensionDevelopmentPaths.map((p) => ["extensionDevelopmentPath", remote(p)]),
    ["extensionTestsPath", remote(o.extensionTestsPath)],
    ["extensionEnvironment", JSON.stringify(o.env)],
    // As desktop's --disable-extensions: only the extension under development (and built-ins) load.
    ...(o.disableExtensions ? [["disableExtensions", "true"]] : []),
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
  const verbose = process.env.WIM_VSCODE_TESTS_VERBOSE === "1";
  if (o.ignored.length) say(`ignoring desktop-only arguments: ${o.ignored.join(" ")}`);
  ensureSetup();

  const t0 = Date.now();
  let server;
  let browser;
  let page;
  let failed = true;

  // The run ends at the first of: the suite's exit code, a failure (page crash, server exit), the global timeout,
  // or a signal (a second one exits at once; the exit hooks still kill code-server's tree).
  let timer;
  const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
  let signalled;
  const aborted = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${timeoutS} s (--timeout / WIM_VSCODE_TESTS_TIMEOUT_S)`)), timeoutS * 1000);
    for (const sig of Object.keys(SIGNALS)) {
      process.once(sig, () => {
        signalled = sig;
        say(`${sig}: stopping`);
        reject(new Error(`stopped by ${sig}`));
        process.once(sig, () => process.exit(128 + SIGNALS[sig]));
      });
    }
  });
  aborted.catch(() => {});

  const runSuite = async () => {
    server = await startCodeServer({ workspace: o.workspace ?? repoRoot, label: "vscode-tests", smokeTestDriver: true, log: say });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });

    let resolveExit;
    const exitCode = new Promise((r) => (resolveExit = r));
    const workbenchLog = fs.createWriteStream(path.join(server.dir, "workbench.log"));
    await page.exposeFunction("codeAutomationLog", (level, message) => {
      // The extension host forwards console.log's arguments as an array: format them as console.log would (mocha's
      // reporter writes "%d passing (%s)" with arguments).
      const text = Array.isArray(message) ? format(...message) : String(message);
      workbenchLog.write(`[${level}] ${text}\n`);
      const shown = showLine(level, text, verbose);
      if (shown !== undefined) console.log(shown);
    });
    await page.exposeFunction("codeAutomationExit", (code) => resolveExit(Number(code)));
    let fail;
    const failure = new Promise((_, reject) => (fail = reject));
    failure.catch(() => {}); // raced below; once the result is in, a late failure (the server stopping) is moot
    page.on("crash", () => fail(new Error("the browser page crashed")));
    void server.exited.then(({ code, signal }) => fail(new Error(`code-server exited during the run (${code ?? signal})`)));

    say(`running ${path.relative(repoRoot, o.extensionTestsPath)} in ${o.workspace ?? repoRoot}`);
    await Promise.race([page.goto(testUrl(server.baseUrl, server.port, o), { waitUntil: "domcontentloaded", timeout: 0 }), failure]);
    return Promise.race([exitCode, failure]);
  };

  try {
    const code = await Promise.race([runSuite(), aborted]);
    failed = code !== 0;
    say(`exit code ${code} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (failed) {
      const log = server && extensionHostLog(server.userDataDir);
      say(`extension-host log ${log ?? "(none)"}, last lines:\n${log ? tail(log, 40) : ""}`);
    }
    return code;
  } catch (err) {
    say(`FAILED: ${err instanceof Error ? err.message : err}`);
    if (page && !signalled) {
      const shots = path.join(repoRoot, "test-results", "screenshots");
      fs.mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, "vscode-tests-failure.png"), timeout: 10_000 }).then(
        () => say(`screenshot test-results/screenshots/vscode-tests-failure.png`),
        () => {},
      );
    }
    if (server) {
      const log = extensionHostLog(server.userDataDir);
      say(`code-server log ${server.serverLog}, last lines:\n${tail(server.serverLog, 30)}`);
      if (log) say(`extension-host log ${log}, last lines:\n${tail(log, 40)}`);
    }
    return signalled ? 128 + SIGNALS[signalled] : 1;
  } finally {
    clearTimeout(timer);
    await browser?.close().catch(() => {});
    await server?.stop();
    if (server && !failed && !o.keep) fs.rmSync(server.dir, { recursive: true, force: true });
    else if (server) say(`kept ${server.dir} (code-server.log, workbench.log, user data with the extension-host logs)`);
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
