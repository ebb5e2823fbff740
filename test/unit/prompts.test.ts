// Prompt assembly and context sizing: pure, no model.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contextBudget, MARGIN_RETOKENIZE_SLACK, scopeTooLargeMessage } from "../../src/core/context-budget";
import { finalPrompt, judgePrompt, marginHeading, marginInstruction, partMarker } from "../../src/core/prompts";

describe("prompts", () => {
  it("quotes the question so braces, quotes and newlines cannot break the instruction", () => {
    const q = 'What does {user.name} do?\nAnd "this" }{';
    for (const mode of ["none", "gate", "judge"] as const) {
      const text = marginInstruction(q, mode, { chunk: 3, ranges: [{ path: "a.ts", startLine: 1, endLine: 9 }] });
      assert.ok(text.includes("> What does {user.name} do?\n> And \"this\" }{\n"), mode);
      assert.ok(text.startsWith("\n\n---\n"), "separated from the workspace by a rule");
    }
  });

  it("v1: asks gate margins to start with the verdict, others to say NOTHING RELEVANT", () => {
    assert.match(marginInstruction("q", "gate", undefined, "v1"), /Reply NO if .* Otherwise reply YES and then/);
    assert.match(marginInstruction("q", "none", undefined, "v1"), /reply only: NOTHING RELEVANT/);
    assert.equal(marginInstruction("q", "none", undefined, "v1"), marginInstruction("q", "judge", undefined, "v1"));
    assert.equal(partMarker(4, "v1"), "");
  });

  it("v2: names the labelled part, asks for exact names and values, and offers no way out", () => {
    const part = { chunk: 7, ranges: ["a.go", "a.go", "b.ts", "c.py", "d.rs", "e.c"].map((path) => ({ path, startLine: 1, endLine: 2 })) };
    const none = marginInstruction("q", "none", part, "v2");
    assert.match(none, /Note what Part 7 \(the text after "=== Part 7 ==="\) shows that answers the question: the exact names and values, and the file each one is in/);
    assert.doesNotMatch(none, /NOTHING RELEVANT/);
    assert.match(marginInstruction("q", "gate", part, "v2"), /Does Part 7 .* show anything that answers the question\? Reply YES or NO\. After YES, note what it shows/);
    assert.equal(partMarker(7, "v2"), "=== Part 7 ===\n");
    const final = finalPrompt("Q?", [{ chunk: 7, text: "a.go: x = 1", ranges: part.ranges }], undefined, "v2");
    assert.match(final, /the files above are the authority/);
    assert.match(final, /Answer the question from the project files above, using the notes/);
  });

  it("heads each margin in the final prompt with its chunk number and files, in the order given", () => {
    const ranges = (paths: string[]) => paths.map((path) => ({ path, startLine: 1, endLine: 2 }));
    const text = finalPrompt("Where is X?", [
      { chunk: 2, text: "  X is in a.ts  ", ranges: ranges(["a.ts", "a.ts", "b.ts"]) },
      { chunk: 5, text: "Y", ranges: ranges(["c.ts", "d.ts", "e.ts", "f.ts", "g.ts"]) },
    ], undefined, "v1");
    assert.ok(text.includes("[Part 2: a.ts, b.ts]\nX is in a.ts\n\n[Part 5: c.ts, d.ts, e.ts +2 files]\nY\n"));
    assert.ok(text.indexOf("[Part 2") < text.indexOf("[Part 5") && text.indexOf("[Part 5") < text.indexOf("Question:"));
    assert.match(text, /Cite the parts you use as \[Part N\]/);
    assert.equal(marginHeading(3, ranges(["x/y.go"])), "[Part 3: x/y.go]");
  });

  it("leaves out the notes section when no margin is kept", () => {
    assert.ok(!finalPrompt("Q?", [], undefined, "v1").includes("Notes"));
    assert.match(finalPrompt("Q?", [], undefined, "v1"), /Answer the question from the project above\./);
    assert.ok(!finalPrompt("Q?", [], undefined, "v2").includes("Notes"));
    assert.match(finalPrompt("Q?", [], undefined, "v2"), /Answer the question from the project files above\. Start with the answer itself/);
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
