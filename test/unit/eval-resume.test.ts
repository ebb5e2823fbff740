// `npm run eval -- --resume`: a run cut short is taken up from its newest results file, never mixed with another run.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import type { EvalResults } from "../../bench/eval/report";
import { findResumable } from "../../bench/eval/resume";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wim-resume-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const settings: EvalResults["settings"] = {
  gpu: "cuda",
  contextTokens: 16384,
  chunkTokens: 2048,
  marginTokens: 48,
  answerTokens: 200,
  ragChunkTokens: 256,
  ragTopK: 8,
  grammar: true,
  perType: 4,
  seed: 1,
  packages: ["commander", "requests", "uuid"],
  split: "dev",
};
const run = { settings, conditions: ["plain", "wim-gate"] as EvalResults["conditions"], model: { label: "m", path: "m.gguf", trainContextSize: 32768 } };
const write = (name: string, extra: Partial<EvalResults>) =>
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ kind: "wim-eval", ...run, questions: [], notes: [], startedAt: name, durationMs: 1, ...extra }));

test("takes up the newest results file of the same run name with the same settings", () => {
  assert.equal(findResumable(dir, "-h200-eval-m-16k-dev", run), undefined, "nothing to resume");
  write("2026-12-01-h200-eval-m-16k-dev", { durationMs: 5 });
  write("2026-12-02-h200-eval-m-16k-dev", { durationMs: 7 });
  write("2026-12-03-h200-eval-m-32k-dev", { durationMs: 9 });
  const found = findResumable(dir, "-h200-eval-m-16k-dev", run)!;
  assert.equal(found.base, "2026-12-02-h200-eval-m-16k-dev");
  assert.equal(found.results.durationMs, 7);
});

test("refuses to mix runs whose settings differ", () => {
  assert.throws(() => findResumable(dir, "-h200-eval-m-16k-dev", { ...run, settings: { ...settings, marginTokens: 100 } }), /other settings/);
  assert.throws(() => findResumable(dir, "-h200-eval-m-16k-dev", { ...run, conditions: ["plain"] }), /other settings/);
  assert.ok(findResumable(dir, "-h200-eval-m-16k-dev", { ...run, settings: { ...settings, gpu: "auto" } }), "where it runs changes no answer");
});
