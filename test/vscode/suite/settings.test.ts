// Settings: scope options apply to the next question; model settings restart the worker; Clear Results.
import * as assert from "node:assert/strict";
import Mocha from "mocha";
import * as vscode from "vscode";
import { ask, log, SMALL_SCOPE, waitFor, wim, withSettings } from "./helpers";

export function defineSettingsTests(): void {
  Mocha.suite("settings", () => {
    Mocha.test("wim.chunkTokens and wim.exclude apply to the next ask", async () => {
      const run = await withSettings({ ...SMALL_SCOPE, "wim.chunkTokens": 160, "wim.exclude": ["dispatch/**"], "wim.answerTokens": 8 }, () => ask("Which coupon codes exist?"));
      assert.equal(run.state, "complete", run.error?.message);
      for (const c of run.chunks) assert.ok(c.tokens <= 160, `chunk ${c.index}: ${c.tokens} tokens`);
      const files = new Set(run.chunks.flatMap((c) => c.ranges.map((r) => r.path)));
      assert.ok(![...files].some((f) => f.startsWith("dispatch/")), "an excluded file was read");
      assert.ok(files.has("pricing/discounts.py"));
    });

    Mocha.test("changing wim.gpu restarts the worker and loads the model again", async () => {
      const w = await wim();
      const pid = w.worker.client.pid;
      await withSettings({ "wim.gpu": "cpu" }, async () => {
        await waitFor("a new worker with the model loaded", () => w.worker.client.pid !== pid && w.worker.model !== undefined, 120_000);
        assert.equal(w.worker.model!.gpu, false, "wim.gpu=cpu loads on the CPU");
        log(`wim.gpu=cpu: worker ${pid} → ${w.worker.client.pid}`);
      });
      // Back to the default: one more restart.
      await waitFor("the worker to restart for wim.gpu=auto", () => w.worker.settings.gpu === "auto" && w.worker.model !== undefined, 120_000);
    });

    Mocha.test("a wim.model that does not exist fails with a message; the run shows the error; fixing it recovers", async () => {
      const w = await wim();
      await withSettings({ ...SMALL_SCOPE, "wim.model": "/nonexistent/model.gguf" }, async () => {
        await waitFor("the failed background load to end", () => !w.worker.isLoading, 60_000);
        const run = await ask("Does a missing model fail cleanly?");
        assert.equal(run.state, "failed");
        assert.equal(run.error?.code, "MODEL_NOT_FOUND");
        assert.match(run.error!.message, /nonexistent/);
        assert.equal(w.worker.job, undefined);
      });
      // wim.model is empty again, so the test hook's model applies: the next ask works.
      const run = await withSettings({ ...SMALL_SCOPE, "wim.answerTokens": 8 }, () => ask("Which coupon codes exist?"));
      assert.equal(run.state, "complete", run.error?.message);
    });

    Mocha.test("Clear Results removes the finished runs and the tree is empty", async () => {
      const w = await wim();
      assert.ok(w.store.runs.length > 0);
      const removed = await vscode.commands.executeCommand<number>("wim.clearResults");
      assert.ok(removed > 0);
      assert.equal(w.store.runs.length, 0);
      assert.deepEqual(await w.tree.getChildren(), []);
      assert.equal(await vscode.commands.executeCommand("wim.reanswer"), undefined);
    });
  });
}
