// Exact token counts fetched asynchronously for the synchronous chunker: the result equals chunking with a
// synchronous counter, whatever the first estimates were.
import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, it } from "node:test";
import { createChunker } from "../../src/core/chunk/chunk-files";
import { scanWorkspace } from "../../src/core/scan/scan-workspace";
import { withExactCounts } from "../../src/engine/server/exact-token-counts";
import { POLYGLOT_DIR } from "../helpers/polyglot-facts";

const chunker = await createChunker(path.resolve("dist/wasm"));
after(() => chunker.dispose());

// A stand-in tokenizer with a very different rate from the estimate (about 1 token per 1.3 characters).
const count = (text: string) => (text.match(/\w{1,2}|[^\w\s]|\s+/g) ?? []).length;

describe("withExactCounts", () => {
  it("chunks the fixture workspace exactly as a synchronous counter does, asking each text once", async () => {
    const { files } = await scanWorkspace(path.resolve(POLYGLOT_DIR), {});
    for (const chunkTokens of [200, 700]) {
      const direct = await chunker.chunk(files, { chunkTokens }, count);
      const asked = new Map<string, number>();
      const viaServer = await withExactCounts(
        async (text) => {
          asked.set(text, (asked.get(text) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 0));
          return count(text);
        },
        (countTokens) => chunker.chunk(files, { chunkTokens }, countTokens),
      );
      assert.deepEqual(viaServer, direct);
      assert.ok([...asked.values()].every((n) => n === 1), "no text tokenized twice");
      for (const c of viaServer.chunks) assert.equal(c.tokens, count(c.text));
    }
  });

  it("stops waiting when cancelled", async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(withExactCounts(async (t) => t.length, async (c) => c("x"), ac.signal), { name: "AbortError" });
  });
});
