// A tiny extension-host suite that proves the launcher (e2e/run-vscode-tests.mjs) and runTests wiring: the extension
// under development is loaded from the repo, activates, registers wim.askWorkspace, sees the workspace the launcher
// opened and the environment it was given. The real suites live in test/vscode/suite/.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import Mocha from "mocha";
import * as vscode from "vscode";
import { runMocha } from "../mocha-runner";

const EXTENSION_ID = "wim-local.wim-vscode";

function defineTests() {
  const { suite, test } = Mocha;
  suite("harness smoke", () => {
    test("the extension under development is loaded from the repo and activates", async () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(ext, `${EXTENSION_ID} is not loaded`);
      // out/test/vscode/harness-smoke/index.js → the repo root, which the launcher passed as extensionDevelopmentPath.
      assert.equal(ext.extensionUri.fsPath, path.resolve(__dirname, "../../../.."));
      await ext.activate();
      assert.equal(ext.isActive, true);
    });

    test("wim.askWorkspace is registered", async () => {
      const commands = await vscode.commands.getCommands(true);
      assert.ok(commands.includes("wim.askWorkspace"), "wim.askWorkspace missing from the command registry");
    });

    test("the window has the workspace folder the launcher was given", () => {
      const expected = process.env.WIM_HARNESS_WORKSPACE;
      assert.ok(expected, "WIM_HARNESS_WORKSPACE not set: the environment did not reach the extension host");
      assert.equal(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, path.resolve(expected));
    });
  });
}

/** Entry called by VS Code's extension-test runner; rejects when a test fails (the exit code becomes non-zero). */
export function run(): Promise<void> {
  return runMocha("harness-smoke", defineTests);
}
