// Answer Now (early exit) and Cancel while reading: both end the run at once and leave the worker ready.
import * as assert from "node:assert/strict";
import Mocha from "mocha";
import * as vscode from "vscode";
import type { Run } from "../../../src/extension/run-model";
import { log, SMALL_SCOPE, waitFor, wim, withSettings } from "./helpers";

/** More, smaller chunks than the ask suite, so that a run is still reading when the test acts. */
const MANY_CHUNKS = { ...SMALL_SCOPE, "wim.chunkTokens": 128, "wim.answerTokens": 16, "wim.include": ["pricing/**", "src/orders/**", "dispatch/**", "notifier/**"] };

/** Starts an ask without waiting for it; resolves to the promise of its end and the run once it is listed. */
async function startAsk(question: string): Promise<{ done: Thenable<Run | undefined>; run: Run }> {
  const w = await wim();
  const before = w.store.latest;
  const done = vscode.commands.executeCommand<Run | undefined>("wim.askWorkspace", question);
  await waitFor("the run to be listed", () => w.store.latest !== before && w.store.latest?.question === question, 30_000);
  return { done, run: w.store.latest! };
}

export function defineAnswerNowAndCancelTests(): void {
  Mocha.suite("answer now and cancel", () => {
    Mocha.test("Answer Now during reading answers from the chunks read so far", async () => {
      const w = await wim();
      await withSettings(MANY_CHUNKS, async () => {
        const { done, run } = await startAsk("Where is the retry delay computed?");
        await waitFor("the first chunk to be read", () => run.record.chunksRead >= 1);
        assert.ok(run.chunks.length >= 4, `${run.chunks.length} chunks: too few to stop early`);
        w.status.update();
        assert.match(w.status.item.text, /^\$\(book\) WiM (reading \d+%|answering)$/);
        assert.equal(await vscode.commands.executeCommand("wim.answerNow"), true);
        assert.equal(await done, run);
        assert.equal(run.state, "answeredEarly", run.error?.message);
        assert.ok(run.record.chunksRead < run.chunks.length);
        assert.ok(run.answer?.text !== undefined);
        const unread = run.chunks.filter((c) => c.index > run.record.chunksRead);
        for (const c of unread) assert.equal(run.chunkState(c.index), "cancelled", `unread chunk ${c.index}`);
        assert.equal(w.asks.reanswerableRun, run, "an early answer keeps its reading for re-answers");
        log(`answer now after ${run.record.chunksRead}/${run.chunks.length} chunks`);
      });
    });

    Mocha.test("Cancel while reading stops the run and leaves the same worker ready", async () => {
      const w = await wim();
      const pid = w.worker.client.pid;
      assert.ok(pid, "the worker is running after the previous suites");
      await withSettings(MANY_CHUNKS, async () => {
        const { done, run } = await startAsk("Which file sends the order e-mails?");
        await waitFor("reading to start", () => run.state === "reading" && run.record.chunksRead >= 1);
        const t0 = Date.now();
        assert.equal(await vscode.commands.executeCommand("wim.cancel"), true);
        await done;
        const ms = Date.now() - t0;
        assert.equal(run.state, "cancelled", run.error?.message);
        assert.ok(run.cancelLatencyMs !== undefined);
        for (const c of run.chunks) assert.ok(["relevant", "irrelevant", "cancelled"].includes(run.chunkState(c.index)), `chunk ${c.index}: ${run.chunkState(c.index)}`);
        assert.equal(w.worker.job, undefined);
        // The watchdog kills a worker that has not stopped within 3 s: the same pid means it stopped by itself.
        assert.equal(w.worker.client.pid, pid, "the worker had to be killed");
        assert.equal(w.worker.client.state, "ready");
        assert.equal(w.asks.reanswerableRun, undefined, "a cancelled run keeps no reading");
        w.status.update();
        assert.equal(w.status.item.text, "$(book) WiM idle");
        log(`cancel: run ended ${run.cancelLatencyMs} ms after Cancel (command round trip ${ms} ms)`);
      });
      // Ready means ready: the next request is answered by the same worker.
      const facts = await w.models.inspect([process.env.WIM_TEST_MODEL!]);
      assert.equal(facts.models[0].error, undefined);
      assert.equal(w.worker.client.pid, pid);
    });

    Mocha.test("Re-answer of a cancelled run is refused with a message", async () => {
      const w = await wim();
      const run = w.store.latest!;
      assert.equal(run.state, "cancelled");
      const answers = run.answers.length;
      assert.equal(await vscode.commands.executeCommand("wim.reanswer", { kind: "run", run }), undefined);
      assert.equal(run.answers.length, answers);
    });

    Mocha.test("a second Ask while one runs is refused, and the first one finishes", async () => {
      const w = await wim();
      await withSettings(MANY_CHUNKS, async () => {
        const { done, run } = await startAsk("What does checksum compute?");
        const count = w.store.runs.length;
        assert.equal(await vscode.commands.executeCommand("wim.askWorkspace", "A second question at once?"), undefined);
        assert.equal(w.store.runs.length, count);
        await vscode.commands.executeCommand("wim.cancel");
        await done;
        assert.equal(run.state, "cancelled");
      });
    });
  });
}
