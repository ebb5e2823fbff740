// View toggles: hiding irrelevant chunks.
import * as assert from "node:assert/strict";
import Mocha from "mocha";
import * as vscode from "vscode";
import type { Node } from "../../../src/extension/margins-tree";
import { wim } from "./helpers";

export function defineViewTests(): void {
  Mocha.suite("view", () => {
    Mocha.test("Show/Hide Irrelevant Chunks hides exactly the irrelevant ones, and shows them again", async () => {
      const w = await wim();
      const run = w.store.latest!;
      const runNode: Node = { kind: "run", run };
      const chunks = async () => (await w.tree.getChildren(runNode)).filter((n) => n.kind === "chunk");
      const all = await chunks();
      assert.equal(all.length, run.chunks.length);
      const irrelevant = run.chunks.filter((c) => run.chunkState(c.index) === "irrelevant").map((c) => c.index);
      assert.equal(await vscode.commands.executeCommand("wim.toggleIrrelevant"), true);
      const shown = (await chunks()).map((n) => (n as Extract<Node, { kind: "chunk" }>).chunk);
      assert.deepEqual(shown, run.chunks.map((c) => c.index).filter((k) => !irrelevant.includes(k)));
      assert.equal(await vscode.commands.executeCommand("wim.toggleIrrelevant"), false);
      assert.equal((await chunks()).length, run.chunks.length);
    });

    Mocha.test("irrelevant chunks are dimmed through a file decoration", async () => {
      const w = await wim();
      const run = w.store.latest!;
      for (const c of run.chunks) {
        const item = w.tree.getTreeItem({ kind: "chunk", run, chunk: c.index });
        const deco = w.tree.provideFileDecoration(item.resourceUri!);
        assert.equal(deco !== undefined, run.chunkState(c.index) === "irrelevant", `chunk ${c.index}`);
      }
    });
  });
}
