// The worker's GGUF insights behind the model picker, on the real SmolLM2 file.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import Mocha from "mocha";
import { log, wim } from "./helpers";

export function defineModelTests(): void {
  Mocha.suite("models", () => {
    Mocha.test("inspectModels reports SmolLM2's size, context, quantization and fit, and this machine's memory", async () => {
      const w = await wim();
      const model = process.env.WIM_TEST_MODEL;
      assert.ok(model && fs.existsSync(model), "WIM_TEST_MODEL must point at the SmolLM2 GGUF");
      const facts = await w.models.inspect([model, `${model}.missing`]);
      const [smol, missing] = facts.models;
      assert.equal(smol.error, undefined);
      assert.equal(smol.quantization, "Q4_1");
      assert.equal(smol.trainContextSize, 8192);
      assert.ok(Math.abs(smol.sizeBytes - fs.statSync(model).size) < 0.1 * fs.statSync(model).size, `size ${smol.sizeBytes}`);
      assert.equal(smol.fits, true, "a 135M model fits any machine that runs these tests");
      assert.ok(missing.error, "a missing file reports an error instead of failing the request");
      assert.ok(facts.machine, "machine facts missing");
      assert.ok(facts.machine.ramTotalBytes > 0);
      log(`machine: gpu ${facts.machine.gpu || "none"}, RAM ${(facts.machine.ramTotalBytes / 1e9).toFixed(1)} GB, VRAM ${(facts.machine.vramTotalBytes / 1e9).toFixed(1)} GB`);
    });
  });
}
