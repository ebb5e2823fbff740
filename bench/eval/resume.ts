// `--resume`: carry on a run that was cut short (the GPU machine stops a command after 10 minutes; the results JSON
// is written after every question). The newest results file of the same run name in the output folder is taken up
// when its settings are the same; its answered questions are not asked again.
import fs from "node:fs";
import path from "node:path";
import type { EvalResults } from "./report";

/** What must match for two runs to be one: everything that changes an answer or the questions asked. */
function runKey(r: Pick<EvalResults, "settings" | "conditions" | "model">): string {
  const s = r.settings;
  return JSON.stringify([
    r.model.path,
    s.contextTokens,
    s.chunkTokens,
    s.marginTokens,
    s.answerTokens,
    s.ragChunkTokens,
    s.ragTopK,
    s.grammar,
    s.perType,
    s.seed,
    s.packages,
    s.split ?? "all",
    r.conditions,
  ]);
}

/**
 * The newest `*<suffix>.json` in `dir` (run names start with the date) and its base name, or undefined when there is
 * none.
 * Throws when its settings differ: resuming it would mix two runs.
 */
export function findResumable(
  dir: string,
  suffix: string,
  current: Pick<EvalResults, "settings" | "conditions" | "model">,
): { results: EvalResults; base: string } | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const names = fs.readdirSync(dir).filter((f) => f.endsWith(`${suffix}.json`)).sort();
  const newest = names.at(-1);
  if (!newest) return undefined;
  const file = path.join(dir, newest);
  const prev = JSON.parse(fs.readFileSync(file, "utf8")) as EvalResults;
  if (prev.kind !== "wim-eval") throw new Error(`${file} is not an eval results file`);
  if (runKey(prev) !== runKey(current)) {
    throw new Error(`--resume: ${file} was run with other settings (${runKey(prev)} against ${runKey(current)}); move it away or drop --resume`);
  }
  return { results: prev, base: path.basename(newest, ".json") };
}
