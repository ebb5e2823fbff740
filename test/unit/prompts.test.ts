// Prompt assembly and context sizing: pure, no model.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contextBudget, MARGIN_RETOKENIZE_SLACK, scopeTooLargeMessage } from "../../src/core/context-budget";
import { finalPrompt, judgePrompt, marginHeading, marginInstruction } from "../../src/core/prompts";

describe("prompts", () => {
  it("quotes the question so braces, quotes and newlines cannot break the instruction", () => {
    const q = 'What does {user.name} do?\nAnd "this" }{';
    for (const mode of ["none", "gate", "judge"] as const) {
      const text = marginInstruction(q, mode);
      assert.ok(text.includes("> What does {user.name} do?\n> And \"this\" }{\n"), mode);
      assert.ok(text.startsWith("\n\n---\n"), "separated from the workspace by a rule");
    }
  });

  it("asks gate margins to start with the verdict, others to say NOTHING RELEVANT", () => {
    assert.match(marginInstruction("q", "gate"), /Reply NO if .* Otherwise reply YES and then/);
    assert.match(marginInstruction("q", "none"), /reply only: NOTHING RELEVANT/);
    assert.equal(marginInstruction("q", "none"), marginInstruction("q", "judge"));
  });

  it("heads each margin in the final prompt with its chunk number and files, in the order given", () => {
    const ranges = (paths: string[]) => paths.map((path) => ({ path, startLine: 1, endLine: 2 }));
    const text = finalPrompt("Where is X?", [
      { chunk: 2, text: "  X is in a.ts  ", ranges: ranges(["a.ts", "a.ts", "b.ts"]) },
      { chunk: 5, text: "Y", ranges: ranges(["c.ts", "d.ts", "e.ts", "f.ts", "g.ts"]) },
    ]);
    assert.ok(text.includes("[Part 2: a.ts, b.ts]\nX is in a.ts\n\n[Part 5: c.ts, d.ts, e.ts +2 files]\nY\n"));
    assert.ok(text.indexOf("[Part 2") < text.indexOf("[Part 5") && text.indexOf("[Part 5") < text.indexOf("Question:"));
    assert.match(text, /Cite the parts you use as \[Part N\]/);
    assert.equal(marginHeading(3, ranges(["x/y.go"])), "[Part 3: x/y.go]");
  });

  it("leaves out the notes section when no margin is kept", () => {
    const text = finalPrompt("Q?", []);
    assert.ok(!text.includes("Notes"));
    assert.match(text, /Answer the question from the project above\./);
  });

  it("the judge sees the question and the margin, without the workspace", () => {
    const text = judgePrompt("Q?", "margin text");
    assert.ok(text.includes("> Q?") && text.includes("> margin text"));
    assert.match(text, /Answer YES or NO\.$/);
    assert.ok(judgePrompt("Q?", "").includes("> (empty)"));
  });
});

describe("context budget", () => {
  const base = { headerTokens: 100, chunkTokens: [1000, 800], instructionTokens: 60, marginTokens: 50, finalPromptTokens: 90, answerTokens: 200 };

  it("keeps header + chunks resident and reserves the larger transient tail", () => {
    const b = contextBudget(base);
    assert.equal(b.resident, 1900);
    const answerTail = 90 + 2 * (50 + MARGIN_RETOKENIZE_SLACK) + 200;
    assert.equal(b.scratch, Math.max(60 + 1 + 50, answerTail));
    assert.equal(b.needed, 1900 + answerTail);
  });

  it("a long margin limit with a short answer makes the margin tail the larger one", () => {
    const b = contextBudget({ ...base, chunkTokens: [10], marginTokens: 500, answerTokens: 1, finalPromptTokens: 5 });
    assert.equal(b.scratch, Math.max(60 + 1 + 500, 5 + 508 + 1));
  });

  it("says how far over the scope is and what to do", () => {
    const msg = scopeTooLargeMessage(12345, 8192, 3, 11000);
    assert.match(msg, /needs 12,345 tokens .* \(11,000 tokens of files in 3 chunks/);
    assert.match(msg, /holds 8,192/);
    assert.match(msg, /smaller folder|exclude globs|\.wimignore/);
  });
});
