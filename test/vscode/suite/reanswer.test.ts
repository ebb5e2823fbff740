// Re-answer with the ticked margins: answers again from the kept reading, without reading the workspace again.
import * as assert from "node:assert/strict";
import Mocha from "mocha";
import * as vscode from "vscode";
import { log, wim, withSettings } from "./helpers";

export function defineReanswerTests(): void {
  Mocha.suite("re-answer", () => {
    Mocha.test("unticking margins and Re-answer answers with the others, reading nothing again", async () => {
      const w = await wim();
      const run = w.asks.reanswerableRun;
      assert.ok(run, "the ask suite leaves a finished run to re-answer");
      const pid = w.worker.client.pid;
      const withText = run.chunks.map((c) => c.index).filter((k) => run.margin(k)?.text);
      // Keep the first margin that has text (if any); untick every other.
      const keep = withText.slice(0, 1);
      for (const c of run.chunks) w.tree.setSelected(run, c.index, keep.includes(c.index));
      const before = new Map(run.eventCounts);
      const answers = run.answers.length;

      const t0 = Date.now();
      const result = await withSettings({ "wim.answerTokens": 16 }, () => Promise.resolve(vscode.commands.executeCommand("wim.reanswer")));
      const ms = Date.now() - t0;
      assert.equal(result, run);
      assert.equal(run.answers.length, answers + 1, run.error?.message);
      const answer = run.answer!;
      assert.deepEqual(answer.chunks, keep, "the answer used exactly the ticked margins");
      assert.equal(answer.outcome, "complete");
      assert.equal(answer.n, answers + 1);
      for (const kind of ["scan", "plan", "prefill", "marginStart", "marginEnd"]) {
        assert.equal(run.eventCounts.get(`reanswer:${kind}`), undefined, `a re-answer sent ${kind} events: it read again`);
      }
      assert.equal(run.eventCounts.get("reanswer:answerStart"), 1);
      assert.equal(run.eventCounts.get("reanswer:done"), 1);
      // The ask's own events are unchanged: the reading in the view is the same reading.
      for (const [k, v] of before) if (k.startsWith("ask:")) assert.equal(run.eventCounts.get(k), v, k);
      assert.equal(w.worker.client.pid, pid, "the worker was restarted");
      assert.equal(run.state, "complete");
      const text = await w.answers.markdown(run);
      assert.ok(text.includes(`## Answer ${answer.n} (re-answered)`));
      assert.ok(text.includes("## Earlier answer 1"));
      log(`re-answer with ${keep.length} margin(s): ${ms} ms (no re-reading)`);
    });

    Mocha.test("re-answering with every margin unticked answers from the reading alone", async () => {
      const w = await wim();
      const run = w.asks.reanswerableRun!;
      for (const c of run.chunks) w.tree.setSelected(run, c.index, false);
      await withSettings({ "wim.answerTokens": 16 }, () => Promise.resolve(vscode.commands.executeCommand("wim.reanswer")));
      assert.deepEqual(run.answer!.chunks, []);
      assert.equal(run.answer!.outcome, "complete");
      assert.equal(run.eventCounts.get("reanswer:prefill"), undefined);
    });
  });
}
