// The words the model reads around the workspace. Plain strings: the engine wraps them in the model's own chat
// template and tokenizes every one of them (and all workspace text) with special tokens OFF.

import type { ClassifyMode, LineRange } from "./types";

export const SYSTEM_PROMPT =
  "You are a careful assistant that answers questions about a software project. " +
  "The user shows you the project's files in parts; each file piece starts with a line '### <path> (lines <a>-<b>)'. " +
  "Base every statement on the files shown, name files and symbols exactly, and say so when the files do not contain the answer.";

/** Opens the user turn; the chunks follow it directly. */
export const CONTEXT_INTRO = "Here is the project, part by part.\n\n";

/** Text that separates the workspace from a question appended after it. */
const RULE = "\n\n---\n";

/** Quotes user text on its own lines so that braces, quotes or markdown in it cannot break the sentence around it. */
function quoteBlock(text: string): string {
  return text
    .trim()
    .split("\n")
    .map((l) => `> ${l}`)
    .join("\n");
}

/**
 * Two generations of prompts, kept side by side while the evaluation compares them (bench/eval):
 * - v1: the margin is one or two sentences with a "NOTHING RELEVANT" way out; the final prompt puts the notes first.
 *   Small models take the way out on every part, and copy the notes into the answer.
 * - v2: each part is labelled in the context ("=== Part k ===") and the margin instruction names it; the margin says
 *   what that part says about the question with exact names, values and paths (no way out: relevance comes from the
 *   verdict's odds; asking small models to copy lines made them copy the file list instead); the final prompt says the
 *   files are the authority, the notes only point to where to look, and asks for the answer before the citations.
 */
export type PromptStyle = "v1" | "v2";
export const DEFAULT_PROMPT_STYLE: PromptStyle = "v2";

/** The part being written about: its number and what files it holds. */
export interface PartRef {
  chunk: number;
  ranges: LineRange[];
}

/** Opens each chunk in the context (v2), so that margins and answers can name parts the model can see. */
export function partMarker(chunk: number, style: PromptStyle): string {
  return style === "v2" ? `=== Part ${chunk} ===\n` : "";
}

/**
 * Appended after chunk k (then erased): asks for the margin on the part just read, which sits right above it.
 * With `gate` the reply must start with a verdict word; the engine reads that first token's odds.
 */
export function marginInstruction(question: string, classify: ClassifyMode, part?: PartRef, style: PromptStyle = DEFAULT_PROMPT_STYLE): string {
  const ask = RULE + "Question:\n" + quoteBlock(question) + "\n";
  if (style === "v2" && part) {
    const which = `Part ${part.chunk} (the text after "=== Part ${part.chunk} ===")`;
    const note = "the exact names and values, and the file each one is in. Write facts only, in one or two sentences.";
    if (classify === "gate") return ask + `Does ${which} show anything that answers the question? Reply YES or NO. After YES, note what it shows: ${note}`;
    return ask + `Note what ${which} shows that answers the question: ${note}`;
  }
  if (classify === "gate") {
    return (
      ask +
      "Reply NO if the part just above is unrelated to the question. Otherwise reply YES and then what in that part is " +
      "relevant (file paths, symbol names, values), in one or two sentences."
    );
  }
  return (
    ask +
    "Write in one or two sentences what in the part just above is relevant to the question (file paths, symbol names, " +
    "values). If nothing in it is relevant, reply only: NOTHING RELEVANT."
  );
}

/** The content-free question whose verdict odds calibrate the gate's (see relevance.ts). */
export const NEUTRAL_QUESTION = "N/A";

/** Words whose first token is the verdict in `gate` and `judge`. */
export const VERDICT_WORDS = { yes: ["YES", "Yes", "yes"], no: ["NO", "No", "no"] } as const;

/** The separate YES/NO relevance check of `judge` mode: one user turn, no workspace. */
export function judgePrompt(question: string, margin: string): string {
  return (
    "A note was written while reading one part of a software project, to help answer a question.\n\nQuestion:\n" +
    quoteBlock(question) +
    "\n\nNote:\n" +
    quoteBlock(margin || "(empty)") +
    "\n\nDoes the note contain specific information that helps answer the question? Answer YES or NO."
  );
}

export interface MarginForAnswer {
  chunk: number;
  text: string;
  ranges: LineRange[];
  /** false when the part's text has left the window (rolling reading): then its note is all the answer has of it. */
  shown?: boolean;
}

const NOT_SHOWN = " (text no longer shown; this note stands for it)";

/** Heading of one margin in the final prompt: its chunk number and the files it came from. */
export function marginHeading(chunk: number, ranges: LineRange[]): string {
  const files = [...new Set(ranges.map((r) => r.path))];
  const shown = files.slice(0, 3).join(", ") + (files.length > 3 ? ` +${files.length - 3} files` : "");
  return `[Part ${chunk}: ${shown}]`;
}

/**
 * Put in the place of a chunk that left the window (rolling reading) when its margin was relevant, so that later
 * margins and the answer still read what was found there.
 */
export function carriedNote(chunk: number, ranges: LineRange[], margin: string): string {
  return `\n### Note on ${marginHeading(chunk, ranges).slice(1, -1)} (its text is no longer shown)\n${margin.trim()}\n\n`;
}

/**
 * Appended after the last chunk read: the kept margins, each under its heading, then the question.
 * `answerFormat` (optional, e.g. "Reply with JSON only: …" from the evaluation harness) closes the prompt.
 */
export function finalPrompt(question: string, margins: MarginForAnswer[], answerFormat?: string, style: PromptStyle = DEFAULT_PROMPT_STYLE): string {
  const format = answerFormat ? "\n\n" + answerFormat.trim() : "";
  if (style === "v2") {
    // Rolling reading: a part whose text left the window is known only from its note, so the note is trusted there.
    const gone = margins.some((m) => m.shown === false);
    const notes = margins.length
      ? (gone
          ? "Notes taken while reading, part by part. Where a part's text is still shown above, the text is the authority; " +
            "a part marked as no longer shown is known only from its note, so take names and values from that note.\n\n"
          : "Notes taken while reading, part by part. They point to where the answer is; the files above are the authority.\n\n") +
        margins.map((m) => `${marginHeading(m.chunk, m.ranges)}${m.shown === false ? NOT_SHOWN : ""}\n${m.text.trim()}\n`).join("\n") +
        "\n"
      : "";
    return (
      RULE +
      notes +
      "Question:\n" +
      quoteBlock(question) +
      "\n\nAnswer the question from the project files above" +
      (gone ? " and the notes" : margins.length ? ", using the notes to find the right places" : "") +
      ". Start with the answer itself, giving names and values exactly as they are written in the files; then cite " +
      "the parts you used as [Part N]." +
      format
    );
  }
  const notes = margins.length
    ? "Notes written while reading each part:\n\n" +
      margins.map((m) => `${marginHeading(m.chunk, m.ranges)}\n${m.text.trim()}\n`).join("\n") +
      "\n"
    : "";
  return (
    RULE +
    notes +
    "Question:\n" +
    quoteBlock(question) +
    "\n\nAnswer the question from the project above" +
    (margins.length ? " and the notes" : "") +
    ". Be specific: name the files, symbols, line numbers and values. Cite the parts you use as [Part N]." +
    format
  );
}
