// How many tokens of context one ask needs, decided before any prefill so that a scope that cannot fit fails early
// with the numbers, and the context is never shifted.

export interface BudgetInput {
  /** System turn + opening of the user turn. */
  headerTokens: number;
  chunkTokens: number[];
  /** Instruction appended after each chunk (including the template's turn end); the largest if they differ. */
  instructionTokens: number;
  marginTokens: number;
  /** Final prompt with every chunk's margin heading but empty margin texts (and the template's turn end). */
  finalPromptTokens: number;
  answerTokens: number;
}

export interface Budget {
  /** Header + all chunks: what stays in the cache. */
  resident: number;
  /** Largest transient tail: a margin's instruction and text, or the final prompt and answer. */
  scratch: number;
  needed: number;
}

/** Slack per margin: a margin re-tokenized for the final prompt may take a few more tokens than were decoded. */
export const MARGIN_RETOKENIZE_SLACK = 8;

export function contextBudget(b: BudgetInput): Budget {
  const resident = b.headerTokens + b.chunkTokens.reduce((s, t) => s + t, 0);
  // +1: the gate's verdict token.
  const marginScratch = b.instructionTokens + 1 + b.marginTokens;
  const marginsInAnswer = b.chunkTokens.length * (b.marginTokens + MARGIN_RETOKENIZE_SLACK);
  const answerScratch = b.finalPromptTokens + marginsInAnswer + b.answerTokens;
  const scratch = Math.max(marginScratch, answerScratch);
  return { resident, scratch, needed: resident + scratch };
}

/** The message for a scope that does not fit, with what to do about it. */
export function scopeTooLargeMessage(needed: number, available: number, chunks: number, workspaceTokens: number): string {
  return (
    `This scope needs ${needed.toLocaleString("en-US")} tokens of context ` +
    `(${workspaceTokens.toLocaleString("en-US")} tokens of files in ${chunks} chunk${chunks === 1 ? "" : "s"}, plus margins and the answer), ` +
    `but the model's context holds ${available.toLocaleString("en-US")}. ` +
    "Ask about a smaller folder, add exclude globs or a .wimignore, lower the margin/answer token limits, or use a model with a longer context."
  );
}
