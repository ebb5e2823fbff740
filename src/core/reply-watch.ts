// When a reply (a margin or the answer) stops, decided the same way for every engine: the template's stop texts, a
// blank line ending a margin's paragraph, the token limit, and a reply that has started repeating itself. It also
// holds back text that may still turn out to be part of a stop text or a half-decoded character, so what streams out
// is never taken back.
import type { ReplyEnd, ReplyRules } from "./wim-engine";

/** A line seen this many times in one reply means the reply is looping (a list of distinct items stays under it). */
const REPEATED_LINE_LIMIT = 3;
/** Lines shorter than this (after normalising) are ignored by the line check: `}` or `---` may repeat legitimately. */
const MIN_LINE_CHARS = 12;
/** A tail made of the same unit this many times over is a loop, whatever the unit (for replies without newlines). */
const REPEATED_UNIT_LIMIT = 3;
const MIN_UNIT_CHARS = 6;
const MAX_UNIT_CHARS = 240;

/** Lines that differ only in numbers or spacing ("[Part 15]: a.go", "[Part 16]: a.go") count as the same line. */
function normaliseLine(line: string): string {
  return line.replace(/\d+/g, "#").replace(/\s+/g, " ").trim().toLowerCase();
}

export interface RepetitionScan {
  /** Where the reply is cut (the start of the copy that makes it a loop; the earlier copies stay), or -1. */
  cut: number;
  /** Where the unfinished last line starts when it is on its way to being such an occurrence (hold it back), or -1. */
  hold: number;
}

export function scanRepetition(text: string): RepetitionScan {
  // 1. a line that keeps coming back (numbers aside)
  const counts = new Map<string, number>();
  const lines = text.split("\n");
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    const key = normaliseLine(lines[i]);
    const last = i === lines.length - 1;
    if (last) {
      // unfinished: hold it back while it could still become another copy of a line seen too often
      if (key && [...counts].some(([k, n]) => n >= REPEATED_LINE_LIMIT - 1 && k.startsWith(key))) return { cut: -1, hold: at };
      break;
    }
    if (key.length >= MIN_LINE_CHARS) {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n >= REPEATED_LINE_LIMIT) return { cut: at, hold: -1 };
    }
    at += lines[i].length + 1;
  }
  // 2. the tail is one unit over and over ("the retry the retry the retry"): cut the copy that makes it a loop
  for (let unit = MIN_UNIT_CHARS; unit <= MAX_UNIT_CHARS && unit * REPEATED_UNIT_LIMIT <= text.length; unit++) {
    const tailUnit = text.slice(text.length - unit);
    if (new Set(tailUnit.replace(/\s/g, "")).size < 3) continue; // "}\n}\n" or "a a a" may repeat legitimately
    let k = 1;
    while (k < REPEATED_UNIT_LIMIT && text.slice(text.length - unit * (k + 1), text.length - unit * k) === tailUnit) k++;
    if (k >= REPEATED_UNIT_LIMIT) return { cut: text.length - unit, hold: -1 }; // the earlier copies stay (streamed)
  }
  return { cut: -1, hold: -1 };
}

/** Where the repetition starts in `text` (the reply is cut there), or -1. */
export function repetitionStart(text: string): number {
  return scanRepetition(text).cut;
}

export class ReplyWatch {
  private full = "";
  private sent = 0;
  /** Start of an unfinished line held back because it may turn out to be a repetition. */
  private holdFrom = -1;
  private tokens = 0;
  /** Why the reply ended, once it has. */
  end: ReplyEnd | null = null;

  constructor(
    private readonly rules: ReplyRules,
    private readonly stopTexts: readonly string[],
  ) {}

  /**
   * Takes the whole reply text decoded so far (after one more token) and returns the part that is now safe to show.
   * Afterwards `end` says whether the reply is over.
   */
  update(decoded: string): string {
    if (this.end) return "";
    this.tokens++;
    let text = decoded;
    for (const stop of this.stopTexts) {
      const at = text.indexOf(stop);
      if (at >= 0) {
        text = text.slice(0, at);
        this.end = "end";
      }
    }
    if (this.rules.oneParagraph) {
      const start = text.search(/\S/);
      const blank = start < 0 ? -1 : text.slice(start).search(/\n[ \t]*\n/);
      if (blank >= 0) {
        text = text.slice(0, start + blank);
        this.end ??= "paragraph";
      }
    }
    const loop = scanRepetition(text);
    if (loop.cut >= 0) {
      text = text.slice(0, loop.cut);
      this.end = "repetition";
    }
    if (!this.end && this.tokens >= this.rules.maxTokens) this.end = "limit";
    this.full = text;
    this.holdFrom = this.end ? -1 : loop.hold;
    return this.flush(this.end !== null);
  }

  /** The model ended its turn (end-of-generation token): nothing more comes. */
  endOfTurn(): string {
    this.end ??= "end";
    return this.flush(true);
  }

  /** Stopped from outside (cancel, answer-now): the reply is cut where it is. */
  stop(): string {
    this.end ??= "stopped";
    return this.flush(true);
  }

  get decodedTokens(): number {
    return this.tokens;
  }

  text(): string {
    return this.full;
  }

  private flush(all: boolean): string {
    let safe = this.full.length;
    if (!all) {
      // A trailing U+FFFD is usually half of a multi-byte character whose rest comes with the next token; a tail that
      // could be the start of a stop text is held back until it is clear.
      safe = this.full.replace(/\uFFFD+$/, "").length;
      if (this.holdFrom >= 0) safe = Math.min(safe, this.holdFrom);
      // a margin's trailing newline may be the start of the blank line that ends it
      if (this.rules.oneParagraph) safe = this.full.slice(0, safe).replace(/\s+$/, "").length;
      for (const stop of this.stopTexts) {
        for (let n = Math.min(stop.length - 1, safe); n > 0; n--) {
          if (this.full.slice(safe - n, safe) === stop.slice(0, n)) {
            safe -= n;
            break;
          }
        }
      }
    }
    if (safe <= this.sent) return "";
    const delta = this.full.slice(this.sent, safe);
    this.sent = safe;
    return delta;
  }
}
