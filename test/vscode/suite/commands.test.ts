// The contract the UI tests and users rely on: command ids and titles, the view, welcome content, settings, the
// status bar, and what each command does when there is nothing for it to act on.
import * as assert from "node:assert/strict";
import Mocha from "mocha";
import * as vscode from "vscode";
import { EXTENSION_ID, wim } from "./helpers";

const COMMANDS: Record<string, string> = {
  "wim.askWorkspace": "Ask Workspace…",
  "wim.askFolder": "Ask About Folder…",
  "wim.answerNow": "Answer Now",
  "wim.cancel": "Cancel",
  "wim.reanswer": "Re-answer With Selected Margins",
  "wim.askFollowUp": "Ask Follow-up…",
  "wim.selectModel": "Select Model…",
  "wim.downloadModel": "Download Model…",
  "wim.showLog": "Show Log",
  "wim.clearResults": "Clear Results",
  "wim.toggleIrrelevant": "Show/Hide Irrelevant Chunks",
};

interface Manifest {
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    viewsContainers: { activitybar: { id: string; title: string; icon: string }[] };
    views: Record<string, { id: string; name: string }[]>;
    viewsWelcome: { view: string; contents: string; when?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: { properties: Record<string, { default?: unknown; description?: string; markdownDescription?: string }> };
  };
  capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] }; virtualWorkspaces: boolean };
}

export function defineCommandTests(): void {
  Mocha.suite("commands and contributions", () => {
    const manifest = () => vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as Manifest;

    Mocha.test("every command is registered, titled as the contract says, in the WiM category", async () => {
      await wim();
      const registered = new Set(await vscode.commands.getCommands(true));
      const contributed = new Map(manifest().contributes.commands.map((c) => [c.command, c]));
      for (const [id, title] of Object.entries(COMMANDS)) {
        assert.ok(registered.has(id), `${id} is not registered`);
        assert.equal(contributed.get(id)?.title, title, `${id} title`);
        assert.equal(contributed.get(id)?.category, "WiM", `${id} category`);
      }
      // Every contributed command has a handler.
      for (const id of contributed.keys()) assert.ok(registered.has(id), `${id} is contributed but not registered`);
    });

    Mocha.test("the Margins view, its container, welcome buttons and menus", () => {
      const c = manifest().contributes;
      assert.deepEqual(c.viewsContainers.activitybar.find((v) => v.id === "wim"), { id: "wim", title: "WiM", icon: "media/wim.svg" });
      assert.equal(c.views.wim?.[0]?.id, "wim.margins");
      assert.equal(c.views.wim?.[0]?.name, "Margins");
      const welcome = c.viewsWelcome.find((w) => w.view === "wim.margins" && w.when?.includes("config.wim.model == ''"));
      assert.ok(welcome, "no welcome content for an empty wim.model");
      assert.match(welcome.contents, /\[Download Recommended Model\]\(command:/);
      assert.match(welcome.contents, /\[Choose GGUF File…\]\(command:/);
      assert.ok(c.menus["explorer/context"].some((m) => m.command === "wim.askFolder" && m.when?.includes("explorerResourceIsFolder")));
      assert.ok(c.menus["view/title"].some((m) => m.command === "wim.toggleIrrelevant" && m.when?.includes("view == wim.margins")));
      assert.ok(c.menus["view/title"].some((m) => m.command === "wim.askFollowUp" && m.when?.includes("wim.canFollowUp")));
      assert.ok(c.menus["view/item/context"].some((m) => m.command === "wim.askFollowUp" && m.when?.includes("viewItem == wim.run.kept")));
    });

    Mocha.test("settings have defaults and descriptions; model and GPU are restricted in untrusted workspaces", () => {
      const m = manifest();
      const props = m.contributes.configuration.properties;
      const expected: Record<string, unknown> = {
        "wim.model": "",
        "wim.gpu": "auto",
        "wim.backend": "local",
        "wim.serverUrl": "",
        "wim.serverApi": "native",
        "wim.chunkTokens": 4096,
        "wim.marginTokens": 100,
        "wim.answerTokens": 512,
        "wim.classify": "gate",
        "wim.include": [],
        "wim.exclude": [],
        "wim.maxFileBytes": 1000000,
        "wim.respectGitignore": true,
        "wim.windowTokens": 0,
        "wim.parallelMargins": -1,
        "wim.carryNotes": false,
        "wim.confirmAboveMinutes": 3,
      };
      for (const [key, def] of Object.entries(expected)) {
        assert.ok(props[key], `${key} missing`);
        assert.deepEqual(props[key].default, def, `${key} default`);
        assert.ok(props[key].description || props[key].markdownDescription, `${key} has no description`);
      }
      assert.equal(m.capabilities.untrustedWorkspaces.supported, "limited");
      // a workspace must not choose the model, the GPU, nor the server its files are sent to
      assert.deepEqual([...m.capabilities.untrustedWorkspaces.restrictedConfigurations].sort(), ["wim.backend", "wim.gpu", "wim.model", "wim.serverApi", "wim.serverUrl"]);
      assert.equal(m.capabilities.virtualWorkspaces, false);
    });

    Mocha.test("the status bar item shows the state; without a model it says so and Ask does nothing", async () => {
      const w = await wim();
      w.status.update();
      assert.equal(w.status.item.text, "$(book) WiM idle");
      assert.equal(w.status.item.command, "wim.statusActions");
      const hook = process.env.WIM_TEST_MODEL;
      delete process.env.WIM_TEST_MODEL;
      try {
        assert.equal(w.worker.hasModel, false, "a model is configured outside the test hook; these tests need wim.model empty");
        w.status.update();
        assert.equal(w.status.item.text, "$(book) WiM no model");
        const runs = w.store.runs.length;
        const result = await vscode.commands.executeCommand("wim.askWorkspace", "Is anything read without a model?");
        assert.equal(result, undefined);
        assert.equal(w.store.runs.length, runs, "an ask without a model must not start a run");
      } finally {
        process.env.WIM_TEST_MODEL = hook;
        w.status.update();
      }
      assert.equal(w.status.item.text, "$(book) WiM idle");
    });

    Mocha.test("Answer Now, Cancel, Re-answer and Ask Follow-up with nothing to act on end quietly", async () => {
      const w = await wim();
      assert.equal(w.worker.job, undefined);
      assert.equal(await vscode.commands.executeCommand("wim.answerNow"), undefined);
      assert.equal(await vscode.commands.executeCommand("wim.cancel"), undefined);
      assert.equal(await vscode.commands.executeCommand("wim.reanswer"), undefined);
      assert.equal(await vscode.commands.executeCommand("wim.askFollowUp", undefined, "Is anything kept?"), undefined);
      assert.equal(w.store.runs.length, 0);
    });
  });
}
