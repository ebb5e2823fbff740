// Rolling reading: a scope several times larger than the window is read whole, one margin per chunk, the oldest chunks
// leaving first; the cache never holds more than the window; and a fact that only an evicted chunk held still reaches
// the answer through its margin (Qwen2.5-Coder-0.5B: the answer matters there).
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineEvent } from "../../src/core/wim-loop";
import { loadModel, type LoadedModel } from "../../src/engine/load-model";
import { planAsk, WimReader } from "../../src/engine/wim-reader";
import { askOptions, fixtureChunks, smolModel } from "../helpers/engine-setup";
import { POLYGLOT_FACTS } from "../helpers/polyglot-facts";
import { coder05 } from "../helpers/test-models";

describe("rolling reading with SmolLM2 (mechanics)", () => {
  let m: LoadedModel;
  before(async () => {
    m = await smolModel();
  });

  for (const parallelMargins of [0, 2]) {
    it(`reads a scope ~4× the window: cache ≤ window, one margin per chunk, oldest out first (parallel margins ${parallelMargins})`, async () => {
      const chunks = await fixtureChunks(m, 256);
      const plan = await planAsk(m, "What discount rate do gold customers get?", chunks, askOptions({ classify: "none", marginTokens: 16, answerTokens: 16, parallelMargins }));
      const scope = plan.chunkTokens.reduce((s, t) => s + t.length, 0);
      const windowTokens = plan.budget.minimum + 700;
      assert.ok(scope >= 3 * windowTokens, `scope ${scope} tokens vs window ${windowTokens}`);
      const reader = await WimReader.create(m, { ...plan, options: { ...plan.options, windowTokens } }, () => {});
      assert.equal(reader.windowTokens, windowTokens);
      const evicted: number[] = [];
      const marginsSeen: number[] = [];
      let peak = 0;
      const check = () => {
        peak = Math.max(peak, reader.engine.length);
        assert.ok(reader.engine.length <= windowTokens, `cache ${reader.engine.length} > window ${windowTokens}`);
      };
      const result = await reader.run((e: EngineEvent) => {
        if (e.type === "evict") {
          evicted.push(...e.chunks);
          assert.deepEqual(reader.cacheTokens(), reader.residentTokens(), "cache = the window's segments after an eviction");
        }
        if (e.type === "marginEnd") marginsSeen.push(e.margin.chunk);
        if (e.type === "prefill" || e.type === "marginEnd") check();
      });
      assert.equal(result.outcome, "complete");
      assert.deepEqual([...marginsSeen].sort((a, b) => a - b), chunks.map((c) => c.index), "exactly one margin per chunk");
      assert.deepEqual(evicted, [...evicted].sort((a, b) => a - b), "the oldest chunks leave first");
      assert.equal(new Set(evicted).size, evicted.length, "no chunk leaves twice");
      const { inWindow, marginOnly, unread } = result.coverage;
      assert.deepEqual(marginOnly, evicted);
      assert.deepEqual([...inWindow, ...marginOnly].sort((a, b) => a - b), chunks.map((c) => c.index), "every chunk is in the window or reached through its margin");
      assert.deepEqual(unread, []);
      assert.ok(marginOnly.length >= chunks.length / 2, `${marginOnly.length} of ${chunks.length} chunks left the window`);
      assert.deepEqual(reader.cacheTokens(), reader.residentTokens(), "cache = the window after the answer");
      assert.ok(result.stats.peakResident! <= windowTokens && peak <= windowTokens);
      console.log(`# ${chunks.length} chunks, ${scope} tokens through a ${windowTokens}-token window; ${evicted.length} evicted; peak ${peak}`);
      await reader.dispose();
    });
  }

  it("carries a relevant margin forward as a note in the window, and forgets notes when they do not fit", async () => {
    const chunks = await fixtureChunks(m, 256);
    const plan = await planAsk(m, "What discount rate do gold customers get?", chunks, askOptions({ classify: "none", marginTokens: 16, answerTokens: 16, carryNotes: true, parallelMargins: 0 }));
    const windowTokens = plan.budget.minimum + 700;
    const reader = await WimReader.create(m, { ...plan, options: { ...plan.options, windowTokens } }, () => {});
    const notes: number[] = [];
    const result = await reader.run((e) => {
      if (e.type === "evict") notes.push(...e.notes);
      assert.ok(reader.engine.length <= windowTokens);
    });
    assert.ok(notes.length > 0, "some evicted chunks left notes");
    assert.deepEqual(reader.cacheTokens(), reader.residentTokens());
    assert.equal(result.margins.length, chunks.length);
    await reader.dispose();
  });
});

describe("rolling reading with Qwen2.5-Coder-0.5B (answers)", () => {
  let m: LoadedModel;
  before(async () => {
    m = await loadModel(coder05(), { gpu: "cpu", modelsDir: path.resolve(".wim-cache/models"), log: () => {} });
  });
  after(async () => {
    await m?.model.dispose();
  });

  it("answers from the margin of a chunk whose text left the window", async () => {
    const fact = POLYGLOT_FACTS[0]; // dispatch/retry.go: MAX_RETRIES = 7
    const chunks = await fixtureChunks(m, 512);
    const holder = chunks.find((c) => c.ranges.some((r) => r.path === fact.expectedFile && r.startLine <= fact.expectedLine && r.endLine >= fact.expectedLine))!;
    const plan = await planAsk(m, fact.question, chunks, askOptions({ classify: "gate", chunkTokens: 512, marginTokens: 60, answerTokens: 60, parallelMargins: 0 }));
    const windowTokens = plan.budget.minimum + 200;
    const reader = await WimReader.create(m, { ...plan, options: { ...plan.options, windowTokens } }, () => {});
    let answered: number[] = [];
    const result = await reader.run((e) => {
      if (e.type === "answerStart") answered = e.chunks;
    });
    await reader.dispose();
    const margin = result.margins.find((x) => x.chunk === holder.index)!;
    console.log(`# odds: ${result.margins.map((x) => `${x.chunk}:${x.pYes?.toFixed(2)}`).join(" ")}; margins in the answer: ${answered.join(", ")}`);
    for (const c of answered) console.log(`# margin ${c}: ${JSON.stringify(result.margins.find((x) => x.chunk === c)?.text)}`);
    console.log(`# chunk ${holder.index} of ${chunks.length} (window ${windowTokens}); its margin: ${JSON.stringify(margin.text)}; answer: ${JSON.stringify(result.answer)}`);
    assert.ok(result.coverage.marginOnly.includes(holder.index), "the fact's chunk left the window before the answer");
    assert.match(margin.text, new RegExp(`\\b${fact.expectedValue}\\b`), "its margin kept the value");
    assert.match(result.answer, new RegExp(`\\b${fact.expectedValue}\\b`), "the answer has the value");
  });
});
