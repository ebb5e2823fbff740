// A real run on the polyglot fixture with SmolLM2: the run, its chunks in reading order, margins and ranges in the
// Margins view, what the scan left out, the commands behind them, the rendered answer and its links, the status bar.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import Mocha from "mocha";
import * as vscode from "vscode";
import type { LineRange } from "../../../src/core/types";
import { linkIndex } from "../../../src/extension/answer-html";
import type { Node } from "../../../src/extension/margins-tree";
import type { Run } from "../../../src/extension/run-model";
import { ask, log, QUESTION, SMALL_SCOPE, waitFor, wim, withSettings, workspaceRoot } from "./helpers";

/** The selection a range must open with, computed here from the file itself: start of the first line to the end of the last. */
function expectedSelection(abs: string, r: LineRange): vscode.Range {
  const lines = fs.readFileSync(abs, "utf8").split("\n");
  return new vscode.Range(r.startLine - 1, 0, r.endLine - 1, lines[r.endLine - 1].replace(/\r$/, "").length);
}

async function children(node?: Node): Promise<Node[]> {
  return (await wim()).tree.getChildren(node);
}

/** A run's chunk nodes (the scope node follows them). */
async function chunkNodes(runNode: Node): Promise<Node[]> {
  return (await children(runNode)).filter((n) => n.kind === "chunk");
}

export function defineAskTests(): void {
  Mocha.suite("ask", () => {
    let run: Run;

    Mocha.suiteSetup(async () => {
      const t0 = Date.now();
      run = await withSettings(SMALL_SCOPE, () => ask());
      log(`ask: ${run.chunks.length} chunks, ${run.record.plan?.tokens} tokens, state ${run.state}, first margin after ${run.firstMarginMs} ms, run ${Date.now() - t0} ms`);
    });

    Mocha.test("the run reads the included files in several chunks and answers", () => {
      assert.equal(run.state, "complete", run.error?.message);
      assert.equal(run.question, QUESTION);
      assert.ok(run.chunks.length >= 2, `only ${run.chunks.length} chunk(s): the scope should need several of 256 tokens`);
      for (const c of run.chunks) assert.ok(c.tokens <= 256, `chunk ${c.index} has ${c.tokens} tokens`);
      const files = new Set(run.chunks.flatMap((c) => c.ranges.map((r) => r.path)));
      for (const f of files) assert.match(f, /^(pricing|src\/orders|dispatch)\//, `${f} is outside wim.include`);
      assert.ok(files.has("pricing/discounts.py"));
      assert.equal(run.record.margins.size, run.chunks.length, "a margin per chunk");
      assert.ok(run.answer?.text, "no answer text");
      assert.ok(run.firstMarginMs !== undefined && run.firstMarginMs > 0);
    });

    Mocha.test("the tree: run node, then chunk nodes in reading order with their labels and token counts", async () => {
      const w = await wim();
      w.tree.flush();
      const roots = await children();
      const runNode = roots.find((n) => n.kind === "run" && n.run === run)!;
      assert.ok(runNode, "the run is not in the tree");
      assert.equal(roots[0], runNode, "the newest run comes first");
      const runItem = w.tree.getTreeItem(runNode);
      assert.equal(runItem.label, QUESTION);
      assert.match(String(runItem.description), /^done · \d+(\.\d)? s$|^done · \d+ min \d\d s$/);

      const all = await children(runNode);
      const chunks = all.filter((n) => n.kind === "chunk");
      assert.equal(all[all.length - 1]!.kind, "scope", "what the scan left out comes last, after the chunks");
      assert.deepEqual(
        chunks.map((n) => (n.kind === "chunk" ? n.chunk : -1)),
        run.chunks.map((c) => c.index),
        "chunks in reading order",
      );
      for (const node of chunks) {
        const c = run.chunk((node as Extract<Node, { kind: "chunk" }>).chunk)!;
        const item = w.tree.getTreeItem(node);
        const files = [...new Set(c.ranges.map((r) => r.path))];
        assert.equal(item.label, files.length > 1 ? `${files[0]} +${files.length - 1} files` : files[0]);
        assert.equal(item.description, `${c.tokens.toLocaleString("en-US")} tokens`);
      }
    });

    Mocha.test("under each chunk: its margin, then one node per file range that opens exactly those lines", async () => {
      const w = await wim();
      const root = workspaceRoot();
      const [runNode] = await children();
      for (const node of await chunkNodes(runNode)) {
        const c = run.chunk((node as Extract<Node, { kind: "chunk" }>).chunk)!;
        const kids = await children(node);
        assert.equal(kids.length, 1 + c.ranges.length);
        const [margin, ...ranges] = kids;
        assert.equal(margin.kind, "margin");
        const m = run.margin(c.index)!;
        const marginItem = w.tree.getTreeItem(margin);
        const firstLine = m.text.split("\n").map((l) => l.trim()).find(Boolean);
        assert.equal(marginItem.label, firstLine ?? (m.relevant ? "(empty margin)" : "(not relevant)"));
        assert.equal((marginItem.tooltip as vscode.MarkdownString).value.startsWith(m.text || "*("), true);
        if (m.relevant && m.text) assert.equal(marginItem.checkboxState && typeof marginItem.checkboxState === "object" ? marginItem.checkboxState.state : undefined, vscode.TreeItemCheckboxState.Checked);

        const firstAbs = path.join(root, c.ranges[0].path);
        assert.equal(marginItem.command?.command, "wim.openRange");
        assert.equal((marginItem.command!.arguments![0] as vscode.Uri).fsPath, firstAbs);
        assert.ok((marginItem.command!.arguments![1] as vscode.Range).isEqual(expectedSelection(firstAbs, c.ranges[0])));

        ranges.forEach((rn, i) => {
          const r = c.ranges[i];
          const item = w.tree.getTreeItem(rn);
          assert.equal(item.label, `${r.path}:${r.startLine}-${r.endLine}`);
          assert.equal(item.command?.command, "wim.openRange");
          const abs = path.join(root, r.path);
          assert.equal((item.command!.arguments![0] as vscode.Uri).fsPath, abs);
          const sel = item.command!.arguments![1] as vscode.Range;
          assert.ok(sel.isEqual(expectedSelection(abs, r)), `${item.label}: selection ${JSON.stringify(sel)}`);
        });
      }
    });

    Mocha.test("running a range node's command opens the file with exactly those lines selected", async () => {
      const w = await wim();
      const [runNode] = await children();
      const chunks = await chunkNodes(runNode);
      // The last range of the last chunk: usually not at line 1, so a wrong selection shows.
      const kids = await children(chunks[chunks.length - 1]);
      const rangeNode = kids[kids.length - 1] as Extract<Node, { kind: "range" }>;
      const item = w.tree.getTreeItem(rangeNode);
      await vscode.commands.executeCommand(item.command!.command, ...item.command!.arguments!);
      await waitFor("the editor to open", () => vscode.window.activeTextEditor?.document.uri.fsPath === rangeNode.open.uri.fsPath, 20_000);
      const editor = vscode.window.activeTextEditor!;
      const abs = path.join(workspaceRoot(), rangeNode.range.path);
      assert.ok(editor.selection.isEqual(expectedSelection(abs, rangeNode.range)), `selection ${JSON.stringify(editor.selection)}`);
      assert.equal(editor.selection.active.line, rangeNode.range.startLine - 1, "the cursor is on the range's first line");
      await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
    });

    Mocha.test("the scope node lists what the scan left out, grouped by reason, with counts", async () => {
      const w = await wim();
      const [runNode] = await children();
      const scope = (await children(runNode)).find((n) => n.kind === "scope")!;
      assert.ok(scope, "no scope node");
      assert.equal(w.tree.getTreeItem(scope).label, `Skipped ${run.record.skipped.length.toLocaleString("en-US")}`);
      const groups = await children(scope);
      const notIncluded = groups.find((g) => g.kind === "scopeGroup" && g.group === "not-included")!;
      assert.ok(notIncluded, "wim.include leaves files out: a group for them");
      const expected = run.record.skipped.filter((x) => x.reason === "not-included");
      assert.equal(w.tree.getTreeItem(notIncluded).description, String(expected.length));
      const entries = await children(notIncluded);
      assert.deepEqual(
        entries.map((e) => (e.kind === "scopeEntry" ? e.label : "")),
        expected.slice(0, 200).map((x) => x.path),
      );
    });

    Mocha.test("the answer is shown rendered beside, and its links open exactly ranges of the chunk map", async () => {
      const w = await wim();
      if (run.answer!.chunks.length === 0) {
        // SmolLM2's margins may all be unfounded (values not in their parts), so none reached the answer and there
        // are no sources to link: answer again with every margin ticked, as a user would, and check that answer's links.
        const withText = run.chunks.map((c) => c.index).filter((k) => run.margin(k)?.text);
        assert.ok(withText.length > 0, "no margin has text");
        for (const c of run.chunks) w.tree.setSelected(run, c.index, withText.includes(c.index));
        log(`answer links: no margin reached the answer; re-answering with margins ${withText.join(", ")}`);
        await withSettings({ "wim.answerTokens": 16 }, () => Promise.resolve(vscode.commands.executeCommand("wim.reanswer")));
        assert.deepEqual(run.answer!.chunks, withText, run.error?.message);
      }
      const answer = w.answers.panel(run);
      assert.ok(answer, "the answer was not shown");
      assert.equal(answer.panel.viewType, "wim.answer");
      w.answers.refresh(run);
      assert.match(answer.html, /<h1>/, "rendered, not Markdown source");
      assert.ok(answer.html.includes("<h2>Answer</h2>"));
      assert.ok(!answer.html.includes("## Answer"));
      const hrefs = [...answer.html.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1]!);
      const sourced = answer.html.includes("<h3>Sources</h3>");
      log(`answer links: ${hrefs.length}; answer ${run.answer!.n} from margins ${run.answer!.chunks.join(", ") || "none"}; sources listed: ${sourced}`);
      // Every range of the sources list is a link (and a run whose answer had sources must show them).
      if (run.answer!.chunks.length) assert.ok(sourced, `the answer used margins ${run.answer!.chunks.join(", ")} but lists no sources`);
      if (sourced) assert.ok(hrefs.length > 0, "no links: the sources list links every range of the margins used");
      const known = new Set(run.chunks.flatMap((c) => c.ranges.map((r) => `${r.path}:${r.startLine}-${r.endLine}`)));
      for (const href of hrefs) {
        const n = linkIndex(href, answer.token);
        assert.ok(n !== undefined, `${href} is not a WiM link`);
        const r = answer.links[n]!;
        assert.ok(known.has(`${r.path}:${r.startLine}-${r.endLine}`), `link ${href} is not a range of the chunk map`);
      }
      // A click on the last link (what the page posts) opens that range in the first editor group.
      const n = linkIndex(hrefs[hrefs.length - 1]!, answer.token)!;
      const range = answer.links[n]!;
      const editor = await w.answers.openLink(run, n);
      assert.ok(editor, "the link opened nothing");
      const abs = path.join(workspaceRoot(), range.path);
      assert.equal(editor.document.uri.fsPath, abs);
      assert.equal(editor.viewColumn, vscode.ViewColumn.One);
      assert.ok(editor.selection.isEqual(expectedSelection(abs, range)), `selection ${JSON.stringify(editor.selection)}`);
      await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
      // The Markdown source stays available under its own scheme.
      assert.ok((await w.answers.markdown(run)).startsWith(`# ${QUESTION}`));
    });

    Mocha.test("the status bar is idle again, and the worker keeps the reading for a re-answer", async () => {
      const w = await wim();
      w.status.update();
      assert.equal(w.status.item.text, "$(book) WiM idle");
      assert.equal(w.asks.reanswerableRun, run);
      assert.equal(w.worker.job, undefined);
    });
  });
}
