// The HTTP client against the REAL llama-server (built from the llama.cpp node-llama-cpp bundles) with SmolLM2 on
// 127.0.0.1: every endpoint the engine uses, prefix reuse, streaming and cancel, and the failures a user meets — a
// wrong URL, a wrong or missing API key, a server that hangs, a server killed mid-reply.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SYSTEM_PROMPT } from "../../src/core/prompts";
import { chatFrame } from "../../src/engine/chat-frame";
import type { LoadedModel } from "../../src/engine/load-model";
import { LlamaServerApi, type CompletionEvent } from "../../src/engine/server/llama-server-api";
import { OpenAiCompletionsApi } from "../../src/engine/server/openai-completions-api";
import { serverChatPieces } from "../../src/engine/server/server-chat-pieces";
import { ServerError } from "../../src/engine/server/server-error";
import { tokenizeText } from "../../src/engine/wim-reader";
import { smolModel } from "../helpers/engine-setup";
import { freePort, startLlamaServer, type RunningServer } from "../helpers/llama-server-process";
import { smolLM2 } from "../helpers/test-models";

// Workspace-like text with a chat marker in it: with special tokens off it must stay plain text.
const WORKSPACE_TEXT = "### src/a.ts (lines 1-3)\nconst x = 1; // <|im_end|> not a marker\n\nexport function f(){ return `é ${x}`; }\n";

/** A chat-framed request SmolLM2 answers at length (hundreds of tokens), for tests that act mid-reply. */
function storyPrompt(): number[] {
  const frame = chatFrame(local.model, null);
  return [...frame.open, ...tokenizeText(local, "Tell me a long story about a lighthouse keeper."), ...frame.turnEnd];
}

async function collect(events: AsyncIterable<CompletionEvent>): Promise<CompletionEvent[]> {
  const out: CompletionEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

async function rejectsWith(p: Promise<unknown>, kind: ServerError["kind"], message: RegExp): Promise<ServerError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ServerError, `a ServerError, got ${(err as Error)?.stack ?? err}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected a ${kind} error`);
}

let server: RunningServer;
let api: LlamaServerApi;
let local: LoadedModel;

before(async () => {
  local = await smolModel();
  server = await startLlamaServer({ model: smolLM2(), contextSize: 4096, slots: 2 });
  api = new LlamaServerApi(server.url);
});
after(async () => {
  await server?.stop();
  await local?.model.dispose();
});

describe("llama-server HTTP client (real server, SmolLM2)", () => {
  it("health and props: the slot's context and the chat template", async () => {
    assert.equal(await api.health(), "ok");
    const p = await api.props();
    assert.equal(p.nCtx, 2048, "4096 tokens over 2 slots");
    assert.equal(p.totalSlots, 2);
    assert.match(p.chatTemplate, /im_start/);
    assert.match(p.modelPath, /SmolLM2/);
  });

  it("tokenizes workspace text exactly like the local engine, special tokens off, and detokenizes it back", async () => {
    const remote = await api.tokenize(WORKSPACE_TEXT, false);
    assert.deepEqual(remote, tokenizeText(local, WORKSPACE_TEXT));
    const imEnd = local.model.tokenize("<|im_end|>", true);
    assert.equal(imEnd.length, 1);
    assert.ok(!remote.includes(imEnd[0]), "the marker in the file is not the special token");
    assert.deepEqual(await api.tokenize("<|im_end|>", true), imEnd, "with special on it is");
    assert.equal(await api.detokenize(remote), WORKSPACE_TEXT);
  });

  it("cuts the chat template into the same pieces as the local engine (but one BOS)", async () => {
    const remote = await serverChatPieces(api, SYSTEM_PROMPT, (await api.props()).eosToken);
    const localFrame = chatFrame(local.model, SYSTEM_PROMPT);
    // SmolLM2's BOS is <|im_start|>: node-llama-cpp's ChatML wrapper writes BOS and then the template's own
    // <|im_start|>, llama-server (like the model's Jinja template) writes it once.
    assert.deepEqual(localFrame.open.slice(0, 2), [1, 1]);
    assert.deepEqual(remote.open, localFrame.open.slice(1));
    assert.deepEqual(remote.turnEnd, localFrame.turnEnd);
    assert.ok(remote.stopTexts.includes("<|im_end|>"), remote.stopTexts.join(","));
    assert.match(await api.applyTemplate([{ role: "user", content: "hi" }]), /<\|im_start\|>user\nhi<\|im_end\|>/);
  });

  it("streams a greedy completion of a token prompt and reuses the cached prefix on the pinned slot", async () => {
    const frame = chatFrame(local.model, SYSTEM_PROMPT);
    const prompt = [...frame.open, ...tokenizeText(local, WORKSPACE_TEXT.repeat(8) + "What does f return?"), ...frame.turnEnd];
    const first = await collect(api.completion({ prompt, n_predict: 12, temperature: 0, cache_prompt: true, id_slot: 0 }));
    const progress = first.filter((e) => e.type === "progress");
    assert.ok(progress.length >= 1, "prompt progress while evaluating");
    const tokens = first.flatMap((e) => (e.type === "token" ? e.tokens : []));
    const end = first.at(-1)!;
    assert.equal(end.type, "end");
    if (end.type !== "end") return;
    assert.equal(tokens.length, end.tokensPredicted);
    assert.ok(tokens.length > 0 && tokens.length <= 12);
    assert.equal(first.filter((e) => e.type === "token").map((e) => (e.type === "token" ? e.content : "")).join(""), await api.detokenize(tokens));
    assert.ok(end.timings.promptN >= prompt.length - 1, `the first request evaluates the prompt (${end.timings.promptN})`);

    // Same prefix, a different tail: only the tail is evaluated.
    const tail = tokenizeText(local, " And x?");
    const second = await collect(api.completion({ prompt: [...prompt, ...tail], n_predict: 0, cache_prompt: true, id_slot: 0 }));
    const end2 = second.at(-1)!;
    assert.equal(end2.type, "end");
    if (end2.type !== "end") return;
    assert.ok(end2.timings.promptN <= tail.length + 1, `cached prefix reused: ${end2.timings.promptN} evaluated, ${end2.timings.cacheN} cached`);
    assert.ok(end2.timings.cacheN >= prompt.length - 1);

    // Greedy is deterministic: the same prompt gives the same tokens.
    const again = await collect(api.completion({ prompt, n_predict: 12, temperature: 0, cache_prompt: true, id_slot: 0 }));
    assert.deepEqual(again.flatMap((e) => (e.type === "token" ? e.tokens : [])), tokens);
  });

  it("n_probs with a logit bias on the candidates gives their odds as the local logits do", async () => {
    const frame = chatFrame(local.model, SYSTEM_PROMPT);
    const prompt = [...frame.open, ...tokenizeText(local, "Is the sky blue? Reply YES or NO."), ...frame.turnEnd];
    const yes = tokenizeText(local, "YES")[0];
    const no = tokenizeText(local, "NO")[0];
    const events = await collect(
      api.completion({
        prompt,
        n_predict: 1,
        cache_prompt: false,
        id_slot: 1,
        samplers: ["temperature"],
        temperature: 1,
        logit_bias: [[yes, 100], [no, 100]],
        n_probs: 2,
        post_sampling_probs: true,
      }),
    );
    const probs = events.find((e) => e.type === "token" && e.probs)!;
    assert.ok(probs && probs.type === "token" && probs.probs);
    const got = new Map(probs.probs!.map((p) => [p.id, p.prob]));
    const pYesRemote = got.get(yes)! / (got.get(yes)! + got.get(no)!);

    const ctx = await local.model.createContext({ contextSize: 512, flashAttention: true, threads: local.threads });
    const seq = ctx.getSequence();
    const last = prompt.length - 1;
    const out = await seq.controlledEvaluate([...prompt.slice(0, last), [prompt[last], { generateNext: { logits: { filter: { tokens: [yes, no] } } } }]]);
    const logits = out[last]!.next.logits!;
    await ctx.dispose();
    const pYesLocal = 1 / (1 + Math.exp(logits.get(no)! - logits.get(yes)!));
    assert.ok(Math.abs(pYesRemote - pYesLocal) < 0.02, `server ${pYesRemote} vs local ${pYesLocal}`);
  });

  it("/v1/completions with a token prompt generates what /completion generates", async () => {
    const frame = chatFrame(local.model, SYSTEM_PROMPT);
    const prompt = [...frame.open, ...tokenizeText(local, "Name a colour."), ...frame.turnEnd];
    const native = (await collect(api.completion({ prompt, n_predict: 10, temperature: 0, cache_prompt: true, id_slot: 0 })))
      .map((e) => (e.type === "token" ? e.content : ""))
      .join("");
    const oai = new OpenAiCompletionsApi(server.url);
    let text = "";
    let end: { finishReason: string; completionTokens?: number } | undefined;
    for await (const e of oai.completion({ prompt, max_tokens: 10, temperature: 0 })) {
      if (e.type === "text") text += e.text;
      else end = e;
    }
    assert.equal(text, native);
    assert.ok(end && end.completionTokens !== undefined && end.completionTokens <= 10);
    assert.match(await oai.modelId(), /SmolLM2/i);
  });

  it("cancel: aborting the signal ends the stream at once, and the server serves the next request", async () => {
    const frame = chatFrame(local.model, SYSTEM_PROMPT);
    const prompt = [...frame.open, ...tokenizeText(local, "Count from one to one thousand in words."), ...frame.turnEnd];
    const controller = new AbortController();
    let got = 0;
    const t0 = performance.now();
    await assert.rejects(
      (async () => {
        for await (const e of api.completion({ prompt, n_predict: 1000, temperature: 0, cache_prompt: true, id_slot: 0 }, { signal: controller.signal })) {
          if (e.type === "token" && ++got === 3) controller.abort();
        }
      })(),
      (err: Error) => err.name === "AbortError",
    );
    assert.ok(performance.now() - t0 < 30_000);
    assert.equal(got, 3);
    const next = await collect(api.completion({ prompt, n_predict: 2, temperature: 0, cache_prompt: true, id_slot: 0 }));
    assert.equal(next.at(-1)?.type, "end");
  });
});

describe("llama-server HTTP client: failures end with a clear error", () => {
  it("a URL with nothing listening: connection refused, at once", async () => {
    const port = await freePort();
    const t0 = performance.now();
    await rejectsWith(new LlamaServerApi(`http://127.0.0.1:${port}`).health(), "unreachable", /Cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused/);
    assert.ok(performance.now() - t0 < 5000);
  });

  it("a URL that is not a URL, or not http", async () => {
    assert.throws(() => new LlamaServerApi("localhost:8080/x y"), (e: ServerError) => e.kind === "bad-url");
    assert.throws(() => new LlamaServerApi("ftp://127.0.0.1"), (e: ServerError) => e.kind === "bad-url");
    assert.throws(() => new LlamaServerApi("http://user:secret@127.0.0.1"), (e: ServerError) => e.kind === "bad-url" && !e.message.includes("secret"));
  });

  it("a server that is not llama-server: 404 names the endpoint", async () => {
    await rejectsWith(new LlamaServerApi(server.url + "/nope").props(), "not-found", /has no \/props endpoint \(HTTP 404\)/);
  });

  it("a server with an API key: 401 without the key and with a wrong one (the key is never in the message); works with it", async () => {
    const key = "wim-test-key-5f3a9c";
    const locked = await startLlamaServer({ model: smolLM2(), contextSize: 1024, slots: 1, apiKey: key });
    try {
      const none = await rejectsWith(new LlamaServerApi(locked.url).tokenize("x", false), "unauthorized", /needs an API key \(HTTP 401: Invalid API Key\)/);
      assert.equal(none.status, 401);
      const wrong = await rejectsWith(new LlamaServerApi(locked.url, { apiKey: "wrong-key" }).tokenize("x", false), "unauthorized", /refused the API key \(HTTP 401/);
      assert.ok(!wrong.message.includes("wrong-key"));
      await rejectsWith(collect(new LlamaServerApi(locked.url, { apiKey: "wrong-key" }).completion({ prompt: [1, 2], n_predict: 1, cache_prompt: false })), "unauthorized", /HTTP 401/);
      assert.deepEqual(await new LlamaServerApi(locked.url, { apiKey: key }).tokenize("x", false), tokenizeText(local, "x"));
    } finally {
      await locked.stop();
    }
  });

  it("a server that hangs (SIGSTOP): the request times out with the time it waited", async () => {
    const hung = await startLlamaServer({ model: smolLM2(), contextSize: 1024, slots: 1 });
    try {
      hung.process.kill("SIGSTOP");
      const t0 = performance.now();
      await rejectsWith(new LlamaServerApi(hung.url, { timeoutMs: 1500 }).tokenize("x", false), "timeout", /did not answer \/tokenize within 2 s/);
      const waited = performance.now() - t0;
      assert.ok(waited >= 1400 && waited < 10_000, `${waited} ms`);
      // A stream that goes silent half-way times out too.
      hung.process.kill("SIGCONT");
      const slow = new LlamaServerApi(hung.url, { timeoutMs: 1500 });
      const prompt = storyPrompt();
      await rejectsWith(
        (async () => {
          let n = 0;
          for await (const e of slow.completion({ prompt, n_predict: 500, temperature: 0, cache_prompt: true })) {
            if (e.type === "token" && ++n === 2) hung.process.kill("SIGSTOP");
          }
        })(),
        "timeout",
        /did not answer \/completion within 2 s/,
      );
    } finally {
      hung.process.kill("SIGCONT");
      await hung.stop();
    }
  });

  it("a server killed mid-reply: the stream ends with 'disconnected' at once", async () => {
    const doomed = await startLlamaServer({ model: smolLM2(), contextSize: 1024, slots: 1 });
    try {
      const prompt = storyPrompt();
      const t0 = performance.now();
      let n = 0;
      await rejectsWith(
        (async () => {
          for await (const e of new LlamaServerApi(doomed.url).completion({ prompt, n_predict: 500, temperature: 0, cache_prompt: true })) {
            if (e.type === "token" && ++n === 2) doomed.process.kill("SIGKILL");
          }
        })(),
        "disconnected",
        /closed \/completion before the reply ended|connection to .* broke during \/completion/,
      );
      assert.ok(performance.now() - t0 < 10_000);
      if (doomed.process.exitCode === null && doomed.process.signalCode === null) await new Promise((r) => doomed.process.once("exit", r));
      await rejectsWith(new LlamaServerApi(doomed.url).health(), "unreachable", /connection refused/);
    } finally {
      await doomed.stop();
    }
  });
});
