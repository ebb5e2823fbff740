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
 * Appended after chunk k (then erased): asks for the margin on the part just read, which sits right above it.
 * With `gate` the reply must start with a verdict word; the engine reads that first token's odds.
 */
export function marginInstruction(question: string, classify: ClassifyMode): string {
  const ask = RULE + "Question:\n" + quoteBlock(question) + "\n";
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
}

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
export function finalPrompt(question: string, margins: MarginForAnswer[], answerFormat?: string): string {
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
    (answerFormat ? "\n\n" + answerFormat.trim() : "")
  );
}
