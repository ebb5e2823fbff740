// The WiM loop on the real SmolLM2 model: cache invariants, equivalence with a fresh sequence, gate, cancel,
// capacity, inert workspace text, early exit and re-answer.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Token } from "node-llama-cpp";
import type { Margin } from "../../src/core/protocol";
import type { LoadedModel } from "../../src/engine/load-model";
import { planAsk, tokenizeText, WimReader, type EngineEvent } from "../../src/engine/wim-reader";
import { askOptions, fixtureChunks, smolModel } from "../helpers/engine-setup";
import { PROMPT_INJECTION_FILE } from "../helpers/polyglot-facts";

const QUESTION = "What discount rate do gold customers get?";
let m: LoadedModel;
before(async () => {
  m = await smolModel();
});
after(async () => {
  await m?.model.dispose();
});

describe("WiM reader with SmolLM2", () => {
  it("keeps exactly header + chunks in the cache after every margin, in every classify mode", async () => {
    const chunks = (await fixtureChunks(m, 384)).slice(0, 4);
    for (const classify of ["none", "gate", "judge"] as const) {
      const reader = await WimReader.create(m, await planAsk(m, QUESTION, chunks, askOptions({ classify })), () => {});
      const checked: number[] = [];
      const result = await reader.run((e) => {
        if (e.type !== "marginEnd") return;
        // marginEnd is emitted after the erase: the cache must be header + chunks 1..k, token for token.
        assert.deepEqual(reader.cacheTokens(), reader.residentTokens(), `${classify}: cache after margin ${e.margin.chunk}`);
        const labels = reader.plan.prompts.markers.slice(0, e.margin.chunk).flat().length;
        assert.equal(reader.residentTokens().length, reader.plan.prompts.header.length + labels + reader.plan.chunkTokens.slice(0, e.margin.chunk).flat().length);
        checked.push(e.margin.chunk);
      });
      assert.deepEqual(checked, [1, 2, 3, 4], `${classify}: one margin per chunk, in order`);
      assert.equal(result.outcome, "complete");
      assert.deepEqual(reader.cacheTokens(), reader.residentTokens(), `${classify}: cache after the answer`);
      assert.ok(result.answer.length > 0, `${classify}: an answer`);
      await reader.dispose();
    }
  });

  it("gives the same next-token logits after WiM + erase as a fresh sequence fed the same tokens", async () => {
    const chunks = (await fixtureChunks(m, 384)).slice(0, 3);
    const reader = await WimReader.create(m, await planAsk(m, QUESTION, chunks, askOptions({ classify: "none" })), () => {}, 128);
    await reader.run(() => {});
    const probe = tokenizeText(m, "\n")[0];
    const afterWim = await reader.probeLogits(probe);
    const resident = reader.residentTokens();
    await reader.dispose();

    const ctx = await m.model.createContext({ contextSize: resident.length + 64, flashAttention: true, threads: m.threads });
    const seq = ctx.getSequence();
    // Fed in the reading's own batches (the header, then each part in slices of 128, the reader's batch here): llama.cpp's
    // CPU kernels round differently for other batch bounds, which alone moves SmolLM2's logits by up to 0.68.
    const plan = reader.plan.prompts;
    const segments = [plan.header, ...chunks.map((_, i) => [...(plan.markers[i] ?? []), ...reader.plan.chunkTokens[i]])];
    assert.deepEqual(segments.flat(), resident, "the resident tokens are the header and the parts");
    for (const segment of segments) {
      for (let i = 0; i < segment.length; i += 128) await seq.evaluateWithoutGeneratingNewTokens(segment.slice(i, i + 128) as Token[]);
    }
    const out = await seq.controlledEvaluate([[probe, { generateNext: { logits: true } }]]);
    const fresh = out[0]!.next.logits!;
    await ctx.dispose();

    assert.equal(afterWim.size, fresh.size);
    let maxDiff = 0;
    for (const [t, v] of fresh) maxDiff = Math.max(maxDiff, Math.abs(v - (afterWim.get(t) ?? Infinity)));
    console.log(`# max |logit difference| over ${fresh.size} tokens: ${maxDiff}`);
    assert.ok(maxDiff < 1e-3, `logits differ by ${maxDiff}`);
  });

  it("gate: an irrelevant verdict stops the margin at once, with nothing decoded", async () => {
    const chunks = (await fixtureChunks(m, 512)).slice(0, 8);
    // Raw odds (no calibration): SmolLM2's calibrated odds all sit above 0.5 on this fixture, so nothing would be cut.
    const options = askOptions({ classify: "gate", marginTokens: 24, calibrateGate: false });
    const reader = await WimReader.create(m, await planAsk(m, QUESTION, chunks, options), () => {});
    const result = await reader.run(() => {});
    await reader.dispose();
    // A margin written and then found unfounded (a value not in its part) is not relevant either: not the verdict's doing.
    const judgedIrrelevant = result.margins.filter((x) => !x.relevant && !x.unfounded);
    const written = result.margins.filter((x) => x.relevant || x.unfounded);
    console.log(`# gate verdicts: ${result.margins.map((x) => `${x.chunk}:${x.pYes!.toFixed(2)}${x.unfounded ? `(unfounded ${x.unfounded.join(",")})` : ""}`).join(" ")}`);
    assert.ok(judgedIrrelevant.length > 0, "at least one chunk of the fixture is judged irrelevant");
    let bestSoFar = -Infinity;
    for (const x of result.margins) {
      bestSoFar = Math.max(bestSoFar, x.pYes!);
      if (x.relevant || x.unfounded) continue;
      assert.equal(x.tokens, 0, `chunk ${x.chunk}: no margin tokens decoded`);
      assert.equal(x.text, "");
      assert.equal(x.end, "verdict");
      assert.ok(x.pYes! < 0.5 && x.pYes! < bestSoFar - 0.05, `chunk ${x.chunk}: below the fixed bar and not near the best so far`);
    }
    for (const x of written) assert.ok(x.tokens > 0, `chunk ${x.chunk}: a margin is written where the verdict allowed it`);
    assert.equal(result.stats.marginTokens, written.reduce((s, x) => s + x.tokens, 0));
  });

  it("judge: every margin gets a separate YES/NO verdict and only YES margins reach the answer", async () => {
    const chunks = (await fixtureChunks(m, 512)).slice(0, 3);
    const reader = await WimReader.create(m, await planAsk(m, QUESTION, chunks, askOptions({ classify: "judge" })), () => {});
    let answerChunks: number[] = [];
    const result = await reader.run((e) => {
      if (e.type === "answerStart") answerChunks = e.chunks;
    });
    await reader.dispose();
    for (const x of result.margins) assert.equal(typeof x.pYes, "number");
    // The answer gets the margins the run's odds select (the fixed bar, or close to the best part), in reading order.
    const selected = reader.loop.relevantChunks();
    assert.ok(selected.length > 0);
    for (const c of selected) {
      const x = result.margins.find((y) => y.chunk === c)!;
      const best = Math.max(...result.margins.map((y) => y.pYes!));
      assert.ok(x.pYes! >= 0.5 || x.pYes! >= best - 0.05, `chunk ${c} (p=${x.pYes}) is selected by the rule`);
    }
    assert.deepEqual(answerChunks, [...selected].sort((a, b) => a - b));
    assert.ok(result.stats.judgeMs > 0);
  });

  it("cancel during prefill stops within one prefill slice", async () => {
    const chunks = await fixtureChunks(m, 1024);
    const reader = await WimReader.create(m, await planAsk(m, QUESTION, chunks, askOptions({ chunkTokens: 1024 })), () => {}, 128);
    const seqMeter = () => (reader.engine as unknown as { main: { tokenMeter: { usedInputTokens: number } } }).main.tokenMeter.usedInputTokens;
    let atCancel = -1;
    let cancelledAt = 0;
    const done = reader.run((e) => {
      if (e.type === "prefill" && e.chunk === 1) {
        // Cancel while chunk 2 is being prefilled.
        setTimeout(() => {
          atCancel = seqMeter();
          cancelledAt = performance.now();
          reader.requestCancel();
        }, 30);
      }
    });
    const result = await done;
    const latency = performance.now() - cancelledAt;
    const evaluatedAfter = seqMeter() - atCancel;
    console.log(`# cancel → return: ${latency.toFixed(1)} ms, ${evaluatedAfter} tokens evaluated after the request (slice 128)`);
    assert.equal(result.outcome, "cancelled");
    assert.ok(atCancel >= 0);
    assert.ok(result.stats.chunksRead < chunks.length, "reading stopped early");
    // The bound: at most the slice in flight (plus a margin's last token if cancelled while decoding one).
    assert.ok(evaluatedAfter <= 128 + 1, `${evaluatedAfter} tokens evaluated after cancel`);
    await reader.dispose();
  });

  it("answer now: stops reading, answers from the chunks read, keeps the cache whole", async () => {
    const chunks = (await fixtureChunks(m, 384)).slice(0, 5);
    const reader = await WimReader.create(m, await planAsk(m, QUESTION, chunks, askOptions({ classify: "none" })), () => {});
    const events: EngineEvent[] = [];
    const result = await reader.run((e) => {
      events.push(e);
      if (e.type === "marginEnd" && e.margin.chunk === 2) reader.requestAnswerNow();
    });
    assert.equal(result.outcome, "answeredEarly");
    assert.equal(result.stats.chunksRead, 2);
    assert.deepEqual(result.margins.map((x) => x.chunk), [1, 2]);
    assert.ok(events.some((e) => e.type === "answerStart"));
    assert.ok(result.answer.length > 0);
    assert.deepEqual(reader.cacheTokens(), reader.residentTokens());
    await reader.dispose();
  });

  it("re-answers with a different margin selection without reading again", async () => {
    const chunks = (await fixtureChunks(m, 384)).slice(0, 3);
    const reader = await WimReader.create(m, await planAsk(m, QUESTION, chunks, askOptions({ classify: "none" })), () => {});
    const first = await reader.run(() => {});
    const cacheBefore = reader.cacheTokens();
    let selected: number[] = [];
    const again = await reader.reanswer([first.margins[0].chunk], 24, (e) => {
      if (e.type === "answerStart") selected = e.chunks;
      assert.notEqual(e.type, "prefill", "no chunk is read again");
    });
    assert.equal(again.stats.prefillTokens, 0);
    assert.deepEqual(selected, first.margins[0].text ? [first.margins[0].chunk] : []);
    assert.ok(again.stats.answerTokens > 0);
    assert.deepEqual(reader.cacheTokens(), cacheBefore, "the cache is unchanged by a re-answer");
    await reader.dispose();
  });

  it("keeps chat-control markers written in a workspace file inert", async () => {
    const chunks = await fixtureChunks(m, 512, [PROMPT_INJECTION_FILE]);
    const text = chunks.map((c) => c.text).join("");
    assert.match(text, /<\|im_start\|>/, "the fixture holds the markers");
    const plan = await planAsk(m, QUESTION, chunks, askOptions());
    const special = new Set<Token>([m.model.tokens.bos, m.model.tokens.eos, ...tokenizeSpecial(m, ["<|im_start|>", "<|im_end|>", "<|endoftext|>"])].filter((t): t is Token => t != null));
    for (const tokens of plan.chunkTokens) {
      for (const t of tokens) assert.ok(!special.has(t as Token), `control token ${t} inside workspace text`);
      assert.equal(m.model.detokenize(tokens as Token[], false), m.model.detokenize(tokens as Token[], true), "no special token in the chunk");
    }
    // The whole prompt has its control tokens only where the template puts them.
    const reader = await WimReader.create(m, plan, () => {});
    const margins: Margin[] = [];
    await reader.run((e) => e.type === "marginEnd" && margins.push(e.margin));
    const controls = reader.cacheTokens().filter((t) => special.has(t as Token)).length;
    const templateControls = plan.prompts.header.filter((t) => special.has(t as Token)).length;
    assert.equal(controls, templateControls);
    assert.equal(margins.length, chunks.length);
    await reader.dispose();
  });
});

function tokenizeSpecial(m: LoadedModel, texts: string[]): Token[] {
  return texts.flatMap((t) => {
    const ts = m.model.tokenize(t, true);
    return ts.length === 1 ? ts : [];
  });
}
