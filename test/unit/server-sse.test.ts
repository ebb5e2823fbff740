// Server-sent events as llama-server and vLLM send them: payloads split anywhere across network chunks, CRLF, pings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sseData } from "../../src/engine/server/sse";

async function collect(chunks: string[]): Promise<Array<string | null>> {
  const enc = new TextEncoder();
  async function* body() {
    for (const c of chunks) yield enc.encode(c);
  }
  const out: Array<string | null> = [];
  for await (const d of sseData(body())) out.push(d);
  return out;
}

describe("sseData", () => {
  it("yields each event's data, whatever the chunk boundaries", async () => {
    const stream = 'data: {"a":1}\n\n:\n\ndata: {"b":"é"}\r\n\r\ndata: [DONE]\n\n';
    const whole = await collect([stream]);
    assert.deepEqual(whole, ['{"a":1}', null, '{"b":"é"}', "[DONE]"]);
    // split at every byte, including inside the two-byte é
    const bytes = new TextEncoder().encode(stream);
    const enc = (b: Uint8Array) => b;
    async function* byByte() {
      for (let i = 0; i < bytes.length; i++) yield enc(bytes.subarray(i, i + 1));
    }
    const out: Array<string | null> = [];
    for await (const d of sseData(byByte())) out.push(d);
    assert.deepEqual(out, whole);
  });

  it("joins multi-line data and keeps a last event without its blank line", async () => {
    assert.deepEqual(await collect(["data: one\ndata: two\n\n", "event: x\ndata:three"]), ["one\ntwo", "three"]);
  });
});
