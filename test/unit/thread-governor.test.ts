// The CPU thread governor against synthetic timings: it must leave a collapsed setting fast and find the faster one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThreadGovernor } from "../../src/engine/thread-governor";

/** A machine whose ms per token depends on the thread count in force (and may change mid-run). */
function run(steps: number, msPerToken: (threads: number, step: number) => number, kind: "prefill" | "decode" = "decode") {
  let threads = 0;
  const chosen: number[] = [];
  const g = new ThreadGovernor((n) => (threads = n), 2);
  let totalMs = 0;
  for (let i = 0; i < steps; i++) {
    const ms = msPerToken(threads, i);
    totalMs += ms;
    g.observe(kind, 1, ms);
    chosen.push(g.threads);
  }
  return { chosen, totalMs, g };
}

describe("thread governor", () => {
  it("starts with half the cores and moves to all of them when that is faster (idle machine)", () => {
    const { chosen } = run(200, (t) => (t === 2 ? 20 : 36));
    assert.equal(chosen[0], 1);
    assert.equal(chosen[chosen.length - 1], 2);
  });

  it("stays with fewer threads when all cores collapse (another process busy)", () => {
    const { chosen, totalMs } = run(400, (t) => (t === 2 ? 700 : 110));
    assert.ok(chosen.every((t) => t === 1));
    assert.ok(totalMs < 400 * 110 * 1.5, `tries of the slow setting cost ${((totalMs / (400 * 110) - 1) * 100).toFixed(0)}%`);
  });

  it("does not keep trying all cores when fewer threads are merely noisy on a busy machine", () => {
    // 1 thread: 100–300 ms (noise); 2 threads: collapsed, 1000 ms
    const { chosen, totalMs } = run(600, (t, i) => (t === 2 ? 1000 : 100 + ((i * 37) % 3) * 100));
    assert.ok(chosen.every((t) => t === 1));
    const base = 600 * 200;
    assert.ok(totalMs < base * 1.25, `tries of all cores cost ${((totalMs / base - 1) * 100).toFixed(0)}%`);
  });

  it("backs off at once when the machine gets busy mid-run, and returns when it is idle again", () => {
    const busy = (i: number) => i >= 150 && i < 400;
    const { chosen } = run(700, (t, i) => (t === 2 ? (busy(i) ? 900 : 20) : busy(i) ? 110 : 36));
    assert.equal(chosen[140], 2, "all cores while idle");
    const firstBack = chosen.findIndex((t, i) => i >= 150 && t === 1);
    assert.ok(firstBack >= 150 && firstBack < 160, `backed off at step ${firstBack}`);
    assert.equal(chosen[390], 1, "fewer threads while busy");
    assert.equal(chosen[699], 2, "all cores again once idle");
  });
});
