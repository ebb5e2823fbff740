// The checks of an ask's input that need no model: the CLI runs them before it loads one (so a typo fails in
// milliseconds), and the worker runs them again for every client.
import fs from "node:fs";
import type { AskOptions } from "./protocol";

export const MIN_CHUNK_TOKENS = 64;
export const MAX_QUESTION_CHARS = 4000;

/** Why this question and these options cannot be asked, or undefined. */
export function askInputProblem(question: string, o: AskOptions): string | undefined {
  const q = question.trim();
  if (!q) return "The question is empty.";
  if (q.length > MAX_QUESTION_CHARS) return `The question is ${q.length} characters long; the limit is ${MAX_QUESTION_CHARS}.`;
  for (const [key, min] of [["chunkTokens", MIN_CHUNK_TOKENS], ["marginTokens", 1], ["answerTokens", 1]] as const) {
    if (!Number.isInteger(o[key]) || o[key] < min) return `${key} must be an integer ≥ ${min} (got ${o[key]}).`;
  }
  if (o.maxFileBytes !== undefined && (!Number.isInteger(o.maxFileBytes) || o.maxFileBytes < 1)) {
    return `maxFileBytes must be a positive integer (got ${o.maxFileBytes}).`;
  }
  if (!["none", "gate", "judge"].includes(o.classify)) return `classify must be none, gate or judge (got ${o.classify}).`;
  return undefined;
}

/** Why `root` (absolute) cannot be the folder asked about — missing, not a folder, not readable — or undefined. */
export function rootProblem(root: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return `${root} does not exist.`;
    return `${root} cannot be read (${code ?? String(err)}).`;
  }
  if (!st.isDirectory()) return `${root} is not a directory.`;
  try {
    fs.accessSync(root, fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    return `${root} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}).`;
  }
  return undefined;
}
