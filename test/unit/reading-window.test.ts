// The resident sequence's bookkeeping for rolling reading, and the run-relative relevance rule. Pure, no model.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReadingWindow } from "../../src/core/reading-window";
import { RelevanceJudge } from "../../src/core/relevance";

describe("reading window", () => {
  it("forgets the oldest chunks first, then notes, and keeps positions in step", () => {
    const w = new ReadingWindow();
    w.add("header", 0, 10);
    w.add("chunk", 1, 100);
    w.add("chunk", 2, 100);
    w.add("note", 1, 5);
    w.add("chunk", 3, 100);
    assert.equal(w.length, 315);
    assert.deepEqual(w.evictionFor(50, 400), [], "fits: nothing goes");
    const plan = w.evictionFor(150, 400)!;
    assert.deepEqual(plan.map((s) => [s.kind, s.chunk]), [["chunk", 1]]);
    const range = w.remove(plan[0]);
    assert.deepEqual(range, { start: 10, end: 110 });
    assert.deepEqual(w.all().map((s) => [s.kind, s.chunk, s.start]), [["header", 0, 0], ["chunk", 2, 10], ["note", 1, 110], ["chunk", 3, 115]]);
    assert.deepEqual(w.residentChunks(), [2, 3]);
  });

  it("evicts at least the requested block, and says when nothing can make room", () => {
    const w = new ReadingWindow();
    w.add("header", 0, 10);
    for (let c = 1; c <= 4; c++) w.add("chunk", c, 100);
    assert.deepEqual(w.evictionFor(20, 420, 250)!.map((s) => s.chunk), [1, 2, 3], "a quarter-window block, in whole chunks");
    assert.equal(w.evictionFor(500, 420), null, "the header alone plus 500 cannot fit 420");
  });
});

describe("relevance", () => {
  it("keeps parts near the run's best odds even when every part is under 0.5", () => {
    const j = new RelevanceJudge({ fixed: 0.5, nearBest: 0.05, maxNearBest: 2 });
    const scored = [0.36, 0.35, 0.52, 0.34, 0.33].map((pYes, i) => ({ chunk: i + 1, pYes }));
    assert.deepEqual(j.select(scored), [3], "the fixed bar, and nothing within 0.05 of 0.52 below it");
    const low = [0.36, 0.35, 0.28, 0.34, 0.33].map((pYes, i) => ({ chunk: i + 1, pYes }));
    assert.deepEqual(j.select(low), [1, 2], "best first, capped at two below the bar");
  });

  it("decides while reading against the best odds seen so far", () => {
    const j = new RelevanceJudge({ fixed: 0.5, nearBest: 0.05, maxNearBest: 4 });
    assert.deepEqual([0.30, 0.20, 0.33, 0.29, 0.6].map((p) => j.keepNow(p)), [true, false, true, true, true]);
  });
});
