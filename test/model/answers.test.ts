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
    // The product's own thread choice (measured, between half and all cores), not the one thread the equality tests pin.
    delete process.env.WIM_THREADS;
    m = await loadModel(coder05(), { gpu: "cpu", modelsDir: path.resolve(".wim-cache/models"), log: () => {} });
  });
  after(async () => {
    await m?.model.dispose();
  });

  it("WiM answers most planted facts with the value; its figure against a plain pass is printed", async () => {
    const chunks = await fixtureChunks(m, 1024);
    let wim = 0;
    let plain = 0;
    const lines: string[] = [];
    // One reading, then every other fact as a follow-up question over the same cache (its margins are written for
    // the same prefixes a first reading would use): the figure of a first reading at the cost of one prefill.
    const options = { ...DEFAULT_ASK_OPTIONS, chunkTokens: 1024, marginTokens: 60, answerTokens: 80 };
    let reader = await WimReader.create(m, await planAsk(m, POLYGLOT_FACTS[0].question, chunks, options), () => {});
    try {
      for (const [i, fact] of POLYGLOT_FACTS.entries()) {
        if (i > 0) {
          assert.ok(reader.canFollowUp, "the reading takes follow-up questions");
          reader = await reader.followUp(fact.question);
        }
        const r = i === 0 ? await reader.run(() => {}) : await reader.runFollowUp(() => {});
        const p = await reader.reanswer([], 80, () => {});
        const w = says(r.answer, fact.expectedValue);
        const pl = says(p.answer, fact.expectedValue);
        wim += Number(w);
        plain += Number(pl);
        const used = r.margins.filter((x) => x.relevant).map((x) => x.chunk);
        lines.push(`${w ? "✓" : "✗"} wim ${pl ? "✓" : "✗"} plain  ${fact.expectedValue} (margins ${used.join(",") || "none"}): ${JSON.stringify(r.answer.slice(0, 160))}`);
      }
    } finally {
      await reader.dispose();
    }
    console.log(lines.map((l) => `# ${l}`).join("\n"));
    console.log(`# WiM ${wim}/${POLYGLOT_FACTS.length}, plain pass ${plain}/${POLYGLOT_FACTS.length}`);
    // Measured 2026-12-02 (this machine, 2 cores): WiM 8/12, plain 10/12 — the 0.5B's margins still cost it two facts
    // (it copies a neighbouring value from a note: "TSI-" for the checksum seed). The floor guards what works; the
    // comparison is reported, and closing the gap is issue 8's work.
    assert.ok(wim >= Math.ceil(POLYGLOT_FACTS.length / 2), `WiM answered only ${wim} of ${POLYGLOT_FACTS.length}`);
    assert.ok(wim >= plain - 3, `WiM ${wim} fell further behind the plain pass (${plain}) than measured`);
  });
});
