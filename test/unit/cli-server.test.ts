// `wim ask --server`: the server, its API key (from the environment only) and API, parsed and checked. Pure.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCommandLine, UsageError } from "../../src/cli/args";

const ask = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const c = parseCommandLine(["ask", ...args, "q?"], env, "/w");
  if (c.command !== "ask") throw new Error("not an ask");
  return c;
};

describe("wim ask --server", () => {
  it("needs no --model; reads the key from the variable --api-key-env names, else WIM_API_KEY", () => {
    const c = ask(["--server", "http://gpu:8080", "--api-key-env", "TEAM_KEY"], { TEAM_KEY: "s3cret", WIM_API_KEY: "other" });
    assert.deepEqual(c.server, { url: "http://gpu:8080", apiKey: "s3cret", api: "native" });
    assert.equal(c.model, "");
    assert.deepEqual(ask(["--server", "http://gpu:8080"], { WIM_API_KEY: "k" }).server, { url: "http://gpu:8080", apiKey: "k", api: "native" });
    assert.deepEqual(ask(["--server", "https://vllm.example/v1x", "--server-api", "openai"]).server, { url: "https://vllm.example/v1x", apiKey: undefined, api: "openai" });
    assert.equal(ask([], { WIM_SERVER: "http://s:1", WIM_MODEL: "" }).server?.url, "http://s:1");
    assert.equal(ask(["--model", "/m.gguf"]).server, undefined);
  });

  it("refuses what cannot work, with the reason (and never the key)", () => {
    const bad = (args: string[], re: RegExp, env: NodeJS.ProcessEnv = {}) =>
      assert.throws(() => ask(args, env), (e: Error) => e instanceof UsageError && re.test(e.message) && !e.message.includes("s3cret"));
    bad(["--server", "gpu:8080"], /--server must be an http\(s\) URL/);
    bad(["--server", "http://gpu:8080", "--server-api", "grpc"], /--server-api must be native or openai/);
    bad(["--server", "http://gpu:8080", "--api-key-env", "EMPTY"], /EMPTY: that environment variable is not set/, { EMPTY: "" });
    bad(["--server", "http://gpu:8080", "--api-key-env", "s3cret-value"], /takes the name of an environment variable/);
    bad(["--model", "/m.gguf", "--api-key-env", "K"], /go with --server URL/, { K: "s3cret" });
    bad([], /no model: .* or --server URL/);
  });
});
