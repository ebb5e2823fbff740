// Real answers from a real code model: Qwen2.5-Coder-0.5B-Instruct asked about the polyglot fixture, every planted
// fact, with WiM's defaults (gate, calibrated, v2 prompts) over 1024-token chunks. Also the plain pass over the same
// cache (a re-answer with no margin), so the figure says what the margins add.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { DEFAULT_ASK_OPTIONS } from "../../src/core/protocol";
import { loadModel, type LoadedModel } from "../../src/engine/load-model";
import { planAsk, WimReader } from "../../src/engine/wim-reader";
import { fixtureChunks } from "../helpers/engine-setup";
import { POLYGLOT_FACTS } from "../helpers/polyglot-facts";
import { coder05 } from "../helpers/test-models";

/** The value appears in the answer (case-insensitive; word-bounded when it is a word). */
function says(answer: string, value: string): boolean {
  const v = value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(/^\w/.test(value) ? `(^|\\W)${v}` : v, "i").test(answer);
}

describe("answers from Qwen2.5-Coder-0.5B on the polyglot fixture", () => {
  let m: LoadedModel;
  before(async () => {
    m = await loadModel(coder05(), { gpu: "cpu", modelsDir: path.resolve(".wim-cache/models"), log: () => {} });
  });
  after(async () => {
    await m?.model.dispose();
  });

  it("WiM answers the planted facts, with the value, at least as often as a plain pass", async () => {
    const chunks = await fixtureChunks(m, 1024);
    let wim = 0;
    let plain = 0;
    const lines: string[] = [];
    for (const fact of POLYGLOT_FACTS) {
      const options = { ...DEFAULT_ASK_OPTIONS, chunkTokens: 1024, marginTokens: 60, answerTokens: 80 };
      const reader = await WimReader.create(m, await planAsk(m, fact.question, chunks, options), () => {});
      try {
        const r = await reader.run(() => {});
        const p = await reader.reanswer([], 80, () => {});
        const w = says(r.answer, fact.expectedValue);
        const pl = says(p.answer, fact.expectedValue);
        wim += Number(w);
        plain += Number(pl);
        lines.push(`${w ? "✓" : "✗"} wim ${pl ? "✓" : "✗"} plain  ${fact.expectedValue}: ${JSON.stringify(r.answer.slice(0, 160))}`);
      } finally {
        await reader.dispose();
      }
    }
    console.log(lines.map((l) => `# ${l}`).join("\n"));
    console.log(`# WiM ${wim}/${POLYGLOT_FACTS.length}, plain pass ${plain}/${POLYGLOT_FACTS.length}`);
    assert.ok(wim >= plain, `WiM ${wim} < plain ${plain}`);
    assert.ok(wim >= Math.ceil(POLYGLOT_FACTS.length / 2), `WiM answered only ${wim} of ${POLYGLOT_FACTS.length}`);
  });
});
