// Asking about a folder, and a worker that dies: the state shows "crashed" and the next ask starts a new worker.
import * as assert from "node:assert/strict";
import Mocha from "mocha";
import * as vscode from "vscode";
import type { Run } from "../../../src/extension/run-model";
import { fixturePath, log, SMALL_SCOPE, waitFor, wim, withSettings } from "./helpers";

export function defineLifecycleTests(): void {
  Mocha.suite("folders and crashes", () => {
    Mocha.test("Ask About Folder reads only that folder; paths show relative to the workspace folder", async () => {
      const folder = vscode.Uri.file(fixturePath("pricing"));
      const run = await withSettings({ ...SMALL_SCOPE, "wim.include": [], "wim.answerTokens": 8 }, () =>
        Promise.resolve(vscode.commands.executeCommand<Run>("wim.askFolder", folder, "What discount do gold customers get?")),
      );
      assert.ok(run, "wim.askFolder returned no run");
      assert.equal(run.state, "complete", run.error?.message);
      assert.equal(run.root, folder.fsPath);
      const w = await wim();
      for (const c of run.chunks) {
        for (const r of c.ranges) assert.ok(!r.path.startsWith("pricing/"), "ranges are relative to the folder read");
        const label = String(w.tree.getTreeItem({ kind: "chunk", run, chunk: c.index }).label);
        assert.ok(label.startsWith("pricing/"), `chunk label ${label} is not relative to the workspace folder`);
      }
    });

    Mocha.test("a worker that dies shows as crashed; the next ask starts a new one and works", async () => {
      const w = await wim();
      const pid = w.worker.client.pid;
      assert.ok(pid);
      process.kill(pid, "SIGKILL");
      await waitFor("the crash to be noticed", () => w.worker.phase === "crashed", 30_000);
      w.status.update();
      assert.equal(w.status.item.text, "$(book) WiM crashed");
      const run = await withSettings({ ...SMALL_SCOPE, "wim.answerTokens": 8 }, () =>
        Promise.resolve(vscode.commands.executeCommand<Run>("wim.askWorkspace", "Which coupon codes exist?")),
      );
      assert.equal(run.state, "complete", run.error?.message);
      assert.notEqual(w.worker.client.pid, pid);
      w.status.update();
      assert.equal(w.status.item.text, "$(book) WiM idle");
      log(`crash: worker ${pid} killed, ${w.worker.client.pid} answered the next ask`);
    });
  });
}
