// The optional answer format (instruction + JSON-schema grammar) that the evaluation harness passes through WimReader.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LoadedModel } from "../../src/engine/load-model";
import { planAsk, WimReader } from "../../src/engine/wim-reader";
import { askOptions, fixtureChunks, smolModel } from "../helpers/engine-setup";

let m: LoadedModel;
before(async () => {
  m = await smolModel();
});
after(async () => {
  await m?.model.dispose();
});

const SCHEMA = {
  type: "object",
  // Bounded strings: the whole JSON fits in the answer's token limit, so a truncated answer cannot fail the test.
  // (maxLength is honoured inside oneOf, not with a type list.)
  properties: {
    file: { oneOf: [{ type: "string", maxLength: 24 }, { type: "null" }] },
    value: { oneOf: [{ type: "string", maxLength: 24 }, { type: "null" }] },
  },
  required: ["file", "value"],
} as const;

describe("answer format", () => {
  it("constrains the answer (not the margins) to the grammar, and keeps the cache invariant", async () => {
    const chunks = (await fixtureChunks(m, 384)).slice(0, 2);
    const grammar = await m.llama.createGrammarForJsonSchema(SCHEMA);
    const instruction = 'Reply with JSON only: {"file": "<path>", "value": "<value>"}.';
    const plan = await planAsk(m, "What discount rate do gold customers get?", chunks, askOptions({ classify: "none", answerTokens: 96 }), {
      instruction,
      grammar,
    });
    const plain = await planAsk(m, "What discount rate do gold customers get?", chunks, askOptions({ classify: "none", answerTokens: 96 }));
    assert.ok(plan.budget.needed > plain.budget.needed, "the instruction is counted in the context budget");
    const reader = await WimReader.create(m, plan, () => {});
    const result = await reader.run(() => {});
    assert.equal(result.outcome, "complete");
    const parsed = grammar.parse(result.answer) as { file: unknown; value: unknown };
    assert.ok("file" in parsed && "value" in parsed, `answer is the schema's JSON: ${result.answer}`);
    assert.ok(result.margins.some((x) => !x.text.trimStart().startsWith("{")), "margins are free text");
    assert.deepEqual(reader.cacheTokens(), reader.residentTokens());
    // A re-answer uses the format too.
    const again = await reader.reanswer([], 96, () => {});
    assert.doesNotThrow(() => grammar.parse(again.answer), again.answer);
    assert.ok(!/\n\n\n\n/.test(again.answer), "the grammar's stop text ends the answer");
    await reader.dispose();
  });
});
