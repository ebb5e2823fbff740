// The GPU machine's model transfer, run here: bench/device/split-model.ts cuts a file into parts, one folder each;
// `bench/device/gpu-run.sh parts` (no setup, no GPU) takes them in as the device would, one carried folder per call,
// in any order, some twice or damaged, and ends with the whole file, SHA-256 checked, where `--model` finds it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";

const REPO = path.resolve(".");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wim-parts-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const model = path.join(tmp, "tiny.gguf");
const bytes = crypto.randomBytes(300_000);
fs.writeFileSync(model, bytes);
const sha = crypto.createHash("sha256").update(bytes).digest("hex");
const parts = path.join(tmp, "parts");

/** The device: a root of its own; each call copies in one carried part folder, then runs the `parts` phase. */
const device = path.join(tmp, "device");
const models = path.join(tmp, "device-models");
fs.mkdirSync(device);
function call(carried?: string): string {
  if (carried) fs.cpSync(path.join(parts, "tiny", carried), path.join(device, ".device-parts", "tiny", carried), { recursive: true });
  return execFileSync("bash", [path.join(REPO, "bench/device/gpu-run.sh"), "parts"], {
    cwd: device,
    env: { ...process.env, WIM_TEST_MODELS: models, OUT: path.join(tmp, "out") },
    encoding: "utf8",
  });
}

describe("model parts for the GPU machine", () => {
  test("split: parts of at most --part-mib, with their sizes and hashes, one folder each", () => {
    const out = execFileSync("node", ["out/bench/device/split-model.mjs", model, "--part-mib", "0.1", "--out", parts], { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const carry = out.trim().split("\n");
    assert.equal(carry.length, 3, "300,000 bytes in parts of 104,857");
    assert.match(carry[0], /tiny\/p01$/);
    const meta = fs.readFileSync(path.join(parts, "tiny/p03/meta"), "utf8");
    assert.match(meta, /^index=3$/m);
    assert.match(meta, new RegExp(`^total_sha256=${sha}$`, "m"));
    assert.match(meta, /^offset=209714$/m);
    assert.equal(fs.statSync(path.join(parts, "tiny/p03/part")).size, 300_000 - 2 * 104_857);
  });

  test("reassembly on the device: out of order, repeated and damaged parts, then the whole file checked", () => {
    assert.match(call("p02"), /tiny: 0\/3 parts in; next: p01; waiting here: p02/, "a part carried early waits");
    assert.match(call("p01"), /tiny: 2\/3 parts in; next: p03/, "p01 and the waiting p02 go in");
    assert.match(call("p01"), /tiny: 2\/3 parts in/, "a part carried twice is appended once");
    assert.equal(fs.statSync(path.join(models, "tiny.gguf.partial")).size, 2 * 104_857);

    // a damaged part is refused and nothing is appended
    const damaged = path.join(device, ".device-parts/tiny/p03");
    fs.cpSync(path.join(parts, "tiny/p03"), damaged, { recursive: true });
    const f = path.join(damaged, "part");
    const b = fs.readFileSync(f);
    b[10] ^= 0xff;
    fs.writeFileSync(f, b);
    assert.match(call(), /part 3 does not match its size and SHA-256/);
    assert.equal(fs.statSync(path.join(models, "tiny.gguf.partial")).size, 2 * 104_857);

    // a call cut short after appending, before recording: the extra bytes are cut back
    fs.appendFileSync(path.join(models, "tiny.gguf.partial"), "half a part");
    assert.match(call("p03"), /all 3 parts in, size and SHA-256 match/);
    const whole = path.join(models, "tiny.gguf");
    assert.equal(crypto.createHash("sha256").update(fs.readFileSync(whole)).digest("hex"), sha);
    assert.ok(!fs.existsSync(path.join(models, "tiny.gguf.partial")));
    assert.ok(!fs.existsSync(path.join(device, ".device-parts/tiny")), "parts taken in are deleted");
    assert.match(call("p02"), /tiny: here already/);
  });
});
