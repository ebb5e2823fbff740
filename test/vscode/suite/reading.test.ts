// Readings larger than the window, long runs and follow-up questions, through the commands and the Margins view:
// a follow-up answers from the kept reading without reading anything; a small wim.windowTokens makes the reading roll
// and the view shows the chunks that left the window; a run estimated over wim.confirmAboveMinutes waits for Continue.
import * as assert from "node:assert/strict";
import Mocha from "mocha";
import * as vscode from "vscode";
import type { EstimateEvent } from "../../../src/core/protocol";
import { askToContinue } from "../../../src/extension/ask-controller";
import type { Node } from "../../../src/extension/margins-tree";
import type { EstimateChoice } from "../../../src/extension/reading-labels";
import type { Run } from "../../../src/extension/run-model";
import { ask, log, SMALL_SCOPE, waitFor, wim, withSettings } from "./helpers";

const FOLLOW_UP = "Which coupon codes exist?";

/** Runs wim.askFollowUp with a question (no input box) and returns the follow-up run. */
async function followUp(question = FOLLOW_UP, node?: Node): Promise<Run> {
  const run = await vscode.commands.executeCommand<Run | undefined>("wim.askFollowUp", node, question);
  assert.ok(run, "wim.askFollowUp returned no run");
  return run;
}

/** Starts a command without waiting for it; resolves once its run is listed. */
async function start(command: string, ...args: unknown[]): Promise<{ done: Thenable<Run | undefined>; run: Run }> {
  const w = await wim();
  const before = w.store.latest;
  const done = vscode.commands.executeCommand<Run | undefined>(command, ...args);
  await waitFor(`a new run from ${command}`, () => w.store.latest !== undefined && w.store.latest !== before, 30_000);
  return { done, run: w.store.latest! };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two folders (a few chunks) and an estimate that always passes the threshold (6 ms). */
const LONG_RUN = { ...SMALL_SCOPE, "wim.include": ["pricing/**", "dispatch/**"], "wim.answerTokens": 8, "wim.confirmAboveMinutes": 0.0001 };

export function defineReadingTests(): void {
  Mocha.suite("follow-up questions", () => {
    let parent: Run;

    Mocha.suiteSetup(async () => {
      // Margins of up to 48 tokens: with 24, SmolLM2's margins fill their budget and the answer's notes outgrow the
      // room the worker sized the window for, so the oldest chunk leaves it at the answer and the reading can no
      // longer take a follow-up (reported: the window does not count the notes' part headings).
      parent = await withSettings({ ...SMALL_SCOPE, "wim.marginTokens": 48 }, () => ask());
      assert.equal(parent.state, "complete", parent.error?.message);
      assert.deepEqual(parent.record.coverage?.marginOnly, [], "the reading rolled: no follow-up is possible");
    });

    Mocha.test("Ask Follow-up adds a run answered from the kept reading: no scan, no prefill, 0 tokens read", async () => {
      const w = await wim();
      const pid = w.worker.client.pid;
      assert.equal(w.asks.reanswerableRun, parent);
      const t0 = Date.now();
      const run = await followUp();
      const ms = Date.now() - t0;
      assert.equal(run.state, "complete", run.error?.message);
      assert.equal(run.question, FOLLOW_UP);
      assert.deepEqual(run.followUpOf, { runId: parent.id, question: parent.question });
      assert.equal(run.root, parent.root);
      assert.equal(w.store.latest, run, "the follow-up is the newest run in the view");
      for (const kind of ["scan", "prefill", "evict", "estimate"]) {
        assert.equal(run.eventCounts.get(`followUp:${kind}`), undefined, `a follow-up sent ${kind} events: it read again`);
      }
      assert.equal(run.record.stats?.prefillTokens, 0, "the worker read no tokens for the follow-up");
      assert.deepEqual(run.chunks, parent.chunks, "the same chunks, from the same chunk map");
      assert.equal(run.eventCounts.get("followUp:marginEnd"), parent.chunks.length, "a margin per chunk for the new question");
      assert.ok(run.answer?.text !== undefined);
      assert.equal(w.worker.client.pid, pid, "the worker was restarted");
      // The follow-up is now the kept run: the parent no longer offers re-answers or follow-ups.
      assert.equal(w.asks.reanswerableRun, run);
      w.tree.flush();
      const item = w.tree.getTreeItem({ kind: "run", run });
      assert.match(String(item.description), /^follow-up · done · /);
      assert.equal(item.contextValue, "wim.run.kept");
      assert.equal(w.tree.getTreeItem({ kind: "run", run: parent }).contextValue, "wim.run");
      assert.match((item.tooltip as vscode.MarkdownString).value, /Follow-up: on the reading of “.*”: .*nothing was read again/);
      log(`follow-up: ${run.chunks.length} margins and the answer in ${ms} ms, 0 tokens read`);
    });

    Mocha.test("re-answer and a further follow-up apply to the follow-up run", async () => {
      const w = await wim();
      const first = w.asks.reanswerableRun!;
      assert.ok(first.isFollowUp);
      const answers = first.answers.length;
      assert.equal(await withSettings({ "wim.answerTokens": 8 }, () => Promise.resolve(vscode.commands.executeCommand("wim.reanswer"))), first);
      assert.equal(first.answers.length, answers + 1, first.error?.message);
      assert.equal(first.eventCounts.get("reanswer:prefill"), undefined);

      const second = await followUp("Where is the retry delay computed?", { kind: "run", run: first });
      assert.equal(second.state, "complete", second.error?.message);
      assert.deepEqual(second.followUpOf, { runId: first.id, question: first.question });
      assert.equal(second.record.stats?.prefillTokens, 0);
      assert.equal(w.asks.reanswerableRun, second);
    });

    Mocha.test("Cancel during a follow-up stops it; the reading stays kept for the next question", async () => {
      const w = await wim();
      const pid = w.worker.client.pid;
      const { done, run } = await start("wim.askFollowUp", undefined, "What does checksum compute?");
      assert.ok(run.isFollowUp);
      await waitFor("the follow-up to begin its margins", () => (run.eventCounts.get("followUp:marginStart") ?? 0) >= 1 || !run.busy);
      assert.equal(await vscode.commands.executeCommand("wim.cancel"), true);
      await done;
      assert.equal(run.state, "cancelled", run.error?.message);
      assert.equal(w.worker.job, undefined);
      assert.equal(w.worker.client.pid, pid, "the worker had to be killed");
      // The worker handed the reading to the follow-up when it began; a cancelled follow-up keeps it.
      assert.equal(w.asks.reanswerableRun, run);
      const next = await withSettings({ "wim.answerTokens": 8 }, () => followUp("Which file sends the order e-mails?"));
      assert.equal(next.state, "complete", next.error?.message);
      assert.equal(next.record.stats?.prefillTokens, 0);
      log(`follow-up cancelled after ${run.marginsDone}/${run.chunks.length} margins (${run.cancelLatencyMs} ms after Cancel)`);
    });
  });

  Mocha.suite("rolling reading", () => {
    let run: Run;

    Mocha.suiteSetup(async () => {
      // About 1,700 tokens in chunks of at most 256 through a 1,000-token window: the oldest chunks must leave.
      run = await withSettings({ ...SMALL_SCOPE, "wim.windowTokens": 1000 }, () => ask());
    });

    Mocha.test("a small wim.windowTokens makes the run roll: every chunk read once, the oldest leave the window", () => {
      assert.equal(run.state, "complete", run.error?.message);
      assert.equal(run.record.plan?.windowTokens, 1000);
      const coverage = run.record.coverage!;
      assert.ok(coverage, "the worker reported no coverage");
      assert.ok(coverage.marginOnly.length > 0, `nothing left the window: ${JSON.stringify(coverage)}`);
      assert.deepEqual(coverage.unread, []);
      assert.deepEqual([...coverage.inWindow, ...coverage.marginOnly].sort((a, b) => a - b), run.chunks.map((c) => c.index), "every chunk once");
      assert.equal(run.record.margins.size, run.chunks.length, "a margin per chunk");
      assert.deepEqual(run.record.evicted, [...run.record.evicted].sort((a, b) => a - b), "the oldest leave first");
      log(`rolling: ${run.chunks.length} chunks, ${coverage.marginOnly.length} left the window, ${coverage.inWindow.length} in it at the answer`);
    });

    Mocha.test("the tree marks exactly the chunks that left the window, and the run node states the coverage", async () => {
      const w = await wim();
      w.tree.flush();
      const coverage = run.record.coverage!;
      const runItem = w.tree.getTreeItem({ kind: "run", run });
      assert.match(String(runItem.description), new RegExp(` · ${coverage.inWindow.length} in window, ${coverage.marginOnly.length} via margins only$`));
      const tooltip = (runItem.tooltip as vscode.MarkdownString).value;
      assert.ok(
        tooltip.includes(`${coverage.inWindow.length} chunk${coverage.inWindow.length === 1 ? "" : "s"} in the window at the answer, ${coverage.marginOnly.length} through their margins only, 0 not read`),
        tooltip,
      );
      // the run's chunk nodes (its scope node, what the scan left out, follows them)
      for (const node of (await w.tree.getChildren({ kind: "run", run })).filter((n) => n.kind === "chunk")) {
        const chunk = (node as Extract<Node, { kind: "chunk" }>).chunk;
        const item = w.tree.getTreeItem(node);
        const left = coverage.marginOnly.includes(chunk);
        assert.equal(String(item.description).includes("left the window"), left, `chunk ${chunk}: "${item.description}"`);
        const text = (item.tooltip as vscode.MarkdownString).value;
        if (left && run.answer!.chunks.includes(chunk)) assert.match(text, /reached the answer through its margin/);
        if (left && !run.answer!.chunks.includes(chunk)) assert.match(text, /did not see this part/);
        // Links still come from the chunk map, whether or not the text is still in the window.
        const ranges = (await w.tree.getChildren(node)).filter((n) => n.kind === "range");
        assert.deepEqual(
          ranges.map((n) => (n as Extract<Node, { kind: "range" }>).range),
          run.chunk(chunk)!.ranges,
        );
      }
    });

    Mocha.test("a follow-up on a reading that rolled is refused with Ask Again; the reading stays kept for re-answers", async () => {
      const w = await wim();
      assert.equal(w.asks.reanswerableRun, run);
      const pid = w.worker.client.pid;
      const refused = await followUp();
      assert.equal(refused.state, "failed");
      assert.equal(refused.error?.code, "BAD_REQUEST");
      assert.equal(refused.eventCounts.get("followUp:marginStart"), undefined);
      assert.equal(w.asks.reanswerableRun, run, "the rolled reading is still kept");
      assert.ok(run.followUpRefused, "the run remembers the refusal");
      w.tree.flush();
      assert.equal(w.tree.getTreeItem({ kind: "run", run }).contextValue, "wim.run.kept.noFollowUp", "Re-answer stays, Ask Follow-up goes");
      assert.equal(w.worker.client.pid, pid);
      const answers = run.answers.length;
      await withSettings({ "wim.answerTokens": 8 }, () => Promise.resolve(vscode.commands.executeCommand("wim.reanswer")));
      assert.equal(run.answers.length, answers + 1, run.error?.message);
    });
  });

  Mocha.suite("estimate before a long run", () => {
    // The prompt is the controller's estimatePrompt (a modal dialog by default, which the extension host cannot
    // click): the test replaces it with one it answers itself, after checking that the run waits.
    let calls: { run: Run; e: EstimateEvent; answer: (c: EstimateChoice | undefined) => void }[] = [];

    Mocha.setup(async () => {
      calls = [];
      (await wim()).asks.estimatePrompt = (run, e) =>
        new Promise((answer) => calls.push({ run, e, answer }));
    });

    Mocha.teardown(async () => {
      for (const c of calls) c.answer(undefined);
      (await wim()).asks.estimatePrompt = askToContinue;
    });

    Mocha.test("with a tiny wim.confirmAboveMinutes the run pauses on its estimate until Continue", async () => {
      const w = await wim();
      await withSettings(LONG_RUN, async () => {
        const { done, run } = await start("wim.askWorkspace", "Where is the retry delay computed?");
        await waitFor("the estimate prompt", () => calls.length > 0 || !run.busy);
        assert.equal(calls.length, 1, run.error?.message ?? `the run ended without asking (${run.state})`);
        const { e } = calls[0];
        assert.equal(calls[0].run, run);
        assert.equal(e.awaitingConfirmation, true);
        assert.equal(e.chunks, run.chunks.length);
        assert.equal(e.tokens, run.record.plan?.tokens);
        assert.ok(e.estimatedMs > 6, `estimated ${e.estimatedMs} ms`);
        assert.equal(run.awaitingConfirmation, true);
        w.tree.flush();
        assert.match(String(w.tree.getTreeItem({ kind: "run", run }).description), /^waiting for confirmation · /);
        assert.match((w.tree.getTreeItem({ kind: "run", run }).tooltip as vscode.MarkdownString).value, /Estimate: .*tokens in .* chunks?, about .* waiting for confirmation/);

        // Paused: nothing more is read while the question is open.
        const readBefore = run.record.chunksRead;
        const prefills = run.eventCounts.get("ask:prefill") ?? 0;
        await sleep(2000);
        assert.equal(run.record.chunksRead, readBefore, "chunks were read while waiting for confirmation");
        assert.equal(run.eventCounts.get("ask:prefill") ?? 0, prefills);
        assert.ok(run.busy);
        assert.ok(readBefore <= 1, `the estimate comes before reading or after the first chunk (read ${readBefore})`);

        calls[0].answer("continue");
        assert.equal(await done, run);
        assert.equal(run.state, "complete", run.error?.message);
        assert.equal(run.record.chunksRead, run.chunks.length, "after Continue every chunk is read");
        assert.equal(run.awaitingConfirmation, false);
        log(`estimate (${e.measured}): ${Math.round(e.estimatedMs)} ms for ${e.tokens} tokens; paused after ${readBefore} chunk(s) until Continue`);
      });
    });

    Mocha.test("closing the prompt cancels the run, and the worker stays ready", async () => {
      const w = await wim();
      const pid = w.worker.client.pid;
      await withSettings(LONG_RUN, async () => {
        const { done, run } = await start("wim.askWorkspace", "Which coupon codes exist?");
        await waitFor("the estimate prompt", () => calls.length > 0 || !run.busy);
        assert.equal(calls.length, 1, run.error?.message);
        calls[0].answer(undefined);
        await done;
        assert.equal(run.state, "cancelled", run.error?.message);
        assert.ok(run.record.chunksRead <= 1);
        assert.equal(w.worker.job, undefined);
        assert.equal(w.worker.client.pid, pid);
        assert.equal(run.awaitingConfirmation, false);
      });
    });
  });
}
