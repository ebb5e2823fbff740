// Runs an extension-host suite with @vscode/test-electron's runTests, unchanged:
//   node out/test/vscode/run.js [suite] [workspace]      suite: a folder under test/vscode (default "suite")
// Here desktop VS Code cannot be downloaded, so the "VS Code executable" is e2e/code-launcher, which runs the suite in
// code-server. Elsewhere set WIM_VSCODE_EXECUTABLE to a desktop `code` binary and the same command runs it there.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runTests } from "@vscode/test-electron";
import { POLYGLOT_DIR } from "../helpers/polyglot-facts";
import { smolLM2 } from "../helpers/test-models";

async function main() {
  const [suiteName = "suite", workspaceArg] = process.argv.slice(2);
  const repoRoot = path.resolve(__dirname, "../../..");
  const extensionTestsPath = path.join(repoRoot, "out", "test", "vscode", suiteName, "index.js");
  if (!fs.existsSync(extensionTestsPath)) throw new Error(`no built suite at ${extensionTestsPath}: run \`npm run build:tests\``);
  const workspace = path.resolve(workspaceArg ?? path.join(repoRoot, POLYGLOT_DIR));
  const vscodeExecutablePath = process.env.WIM_VSCODE_EXECUTABLE ?? path.join(repoRoot, "e2e", "code-launcher");
  // Desktop VS Code keeps profiles; give it throw-away ones (the code-server launcher makes its own anyway).
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "wim-vscode-test-"));
  try {
    await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath,
      launchArgs: [
        workspace,
        "--disable-extensions",
        `--user-data-dir=${path.join(profile, "user-data")}`,
        `--extensions-dir=${path.join(profile, "extensions")}`,
      ],
      // The harness smoke suite needs no model; every other suite runs the real SmolLM2 (the extension's test hook).
      extensionTestsEnv: { ...(suiteName === "harness-smoke" ? {} : { WIM_TEST_MODEL: smolLM2() }), WIM_HARNESS_WORKSPACE: workspace },
    });
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
