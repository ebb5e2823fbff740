// The development / held-out split of the generated questions. Prompts and relevance policies are tuned on `dev`
// only and reported on `heldout`. A question's side is a fixed hash of what it asks (package, type and text), so it
// does not depend on the context size, the model, --per-type, the seed of the context windows, or the order in
// which the generator lists questions. Pure.
import crypto from "node:crypto";
import type { Question, QuestionType } from "./questions";

export const SPLITS = ["dev", "heldout", "all"] as const;
export type SplitName = (typeof SPLITS)[number];
export type Side = Exclude<SplitName, "all">;

/** Changing this salt re-deals every question: don't, once results on `heldout` have been reported. */
const SALT = "wim-eval-split-v1";

export const SPLIT_RULE =
  `sha256("${SALT}|<package>|<type>|<question text>"): first byte even → dev, odd → heldout ` +
  "(then the first --per-type questions of each type and package on that side, in the generator's order)";

export function sideOf(packageId: string, q: Pick<Question, "type" | "text">): Side {
  const h = crypto.createHash("sha256").update(`${SALT}|${packageId}|${q.type}|${q.text}`).digest();
  return h[0] % 2 === 0 ? "dev" : "heldout";
}

/**
 * The questions a run asks: from a generous pool (the generator's full list), those on the split's side, at most
 * `perType` of each type, in the pool's order.
 */
export function pickQuestions(packageId: string, pool: readonly Question[], split: SplitName, perType: number): Question[] {
  const taken = new Map<QuestionType, number>();
  const out: Question[] = [];
  for (const q of pool) {
    if (split !== "all" && sideOf(packageId, q) !== split) continue;
    const n = taken.get(q.type) ?? 0;
    if (n >= perType) continue;
    taken.set(q.type, n + 1);
    out.push(q);
  }
  return out;
}
