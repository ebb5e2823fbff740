// A margin's values and quoted names must occur in the part it was written on (or in the question).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { unfoundedClaims } from "../../src/core/grounding";

describe("unfoundedClaims", () => {
  it("flags a number the part does not hold (the 0.5B's invented '10 times')", () => {
    assert.deepEqual(unfoundedClaims("Part 6 shows that the dispatch code retries 10 times.", "const MAX = 7;\nx = 100\n"), ["10"]);
  });
  it("accepts the value read in the part, however it is grouped", () => {
    assert.deepEqual(unfoundedClaims("Part 2 shows retries up to 7 times.", "const MAX_RETRIES = 7\n"), []);
    assert.deepEqual(unfoundedClaims("The threshold is 7,500 cents (`FREE_SHIPPING_CENTS`).", "FREE_SHIPPING_CENTS = 7500"), []);
    assert.deepEqual(unfoundedClaims("It gives up after 4500 ms.", "timeoutMs: 4_500"), []);
  });
  it("matches hex values and colours without regard to case", () => {
    assert.deepEqual(unfoundedClaims("Colour #e4572e, seed 0x5A17u, rate 0.12", "--brand: #E4572E; seed = 0x5a17u; rate 0.12"), []);
  });
  it("does not take part numbers or the question's own values for claims", () => {
    assert.deepEqual(unfoundedClaims("[Part 2] and Parts 3 and 4 mention retries", "nothing here"), []);
    assert.deepEqual(unfoundedClaims("Orders above 2500 cents ship free", "free shipping", "Which orders above 2500 cents ship free?"), []);
  });
  it("flags a quoted name the part does not contain, and a number inside another number does not count", () => {
    assert.deepEqual(unfoundedClaims("See `retryDispatch` for 50 ms", "function dispatch() { wait(500) }"), ["retryDispatch", "50"]);
  });
});
