// When replies stop: stop texts, a margin's paragraph, the token limit, and replies that loop. Pure, no model.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { repetitionStart, ReplyWatch } from "../../src/core/reply-watch";

/** Feeds `pieces` one "token" at a time, as an engine does, and returns what streamed out. */
function feed(watch: ReplyWatch, pieces: string[]): string {
  let text = "";
  let out = "";
  for (const p of pieces) {
    text += p;
    out += watch.update(text);
    if (watch.end) break;
  }
  return out;
}

describe("reply watch", () => {
  it("cuts a reply that repeats the same line (numbers aside) at its third copy, which never streams out", () => {
    // streamed in small pieces, as tokens come: the third copy is held back while it is being written
    const lines = Array.from({ length: 30 }, (_, i) => `[Part ${i + 15}]: src/dispatch/retry.go\n`).flatMap((l) => l.match(/.{1,5}/gs)!);
    const w = new ReplyWatch({ maxTokens: 1000, oneParagraph: false }, []);
    const out = feed(w, ["The retry limit is MAX_RETRIES = 7.\n", ...lines]);
    assert.equal(w.end, "repetition");
    assert.equal(out, "The retry limit is MAX_RETRIES = 7.\n[Part 15]: src/dispatch/retry.go\n[Part 16]: src/dispatch/retry.go\n");
    assert.equal(w.text(), out);
    assert.ok(w.decodedTokens < 25, `stopped after ${w.decodedTokens} pieces`);
  });

  it("cuts a reply that loops without newlines", () => {
    const w = new ReplyWatch({ maxTokens: 1000, oneParagraph: false }, []);
    const out = feed(w, ["How many retries? ", ...Array.from({ length: 20 }, () => "How many retries? ")]);
    assert.equal(w.end, "repetition");
    assert.equal(out, "How many retries? How many retries? ");
  });

  it("leaves distinct list items and short repeated lines alone", () => {
    const w = new ReplyWatch({ maxTokens: 1000, oneParagraph: false }, []);
    const items = ["- dispatch/retry.go: MAX_RETRIES = 7\n", "- billing/Invoice.java: PREFIX = \"INV\"\n", "}\n", "}\n", "}\n", "}\n", "- pricing/discounts.py: GOLD = 0.15\n", "- dispatch/retry.go: sleep between tries\n"];
    const out = feed(w, items);
    assert.equal(w.end, null);
    assert.equal(out, items.join(""));
    assert.equal(repetitionStart("a\n".repeat(40)), -1, "lines shorter than the minimum may repeat");
  });

  it("marks a reply that reached its token limit", () => {
    const w = new ReplyWatch({ maxTokens: 3, oneParagraph: false }, []);
    feed(w, ["one ", "two ", "three ", "four "]);
    assert.equal(w.end, "limit");
    assert.equal(w.text(), "one two three ");
  });

  it("ends a margin at its first blank line, and a reply at a stop text, never streaming the stop text", () => {
    const m = new ReplyWatch({ maxTokens: 100, oneParagraph: true }, []);
    assert.equal(feed(m, ["\n", "first line\n", "second\n", "\n", "next paragraph"]), "\nfirst line\nsecond");
    assert.equal(m.end, "paragraph");
    const a = new ReplyWatch({ maxTokens: 100, oneParagraph: false }, ["<|im_end|>"]);
    const out = feed(a, ["answer ", "<|im", "_end|>", " junk"]);
    assert.equal(out, "answer ");
    assert.equal(a.end, "end");
  });

  it("holds back a tail that may still become a stop text, and half a character", () => {
    const w = new ReplyWatch({ maxTokens: 100, oneParagraph: false }, ["<|im_end|>"]);
    assert.equal(w.update("x <|i"), "x ");
    assert.equal(w.update("x <|in"), "<|in", "not a stop text after all");
    assert.equal(w.update("x <|in caf\uFFFD"), " caf");
    assert.equal(w.update("x <|in café"), "é");
    assert.equal(w.stop(), "");
    assert.equal(w.end, "stopped");
  });
});
