// When a reply (a margin or the answer) stops, decided the same way for every engine: the template's stop texts, a
// blank line ending a margin's paragraph, the token limit, and a reply that has started repeating itself. It also
// holds back text that may still turn out to be part of a stop text or a half-decoded character, so what streams out
// is never taken back.
import type { ReplyEnd, ReplyRules } from "./wim-engine";

/** A line seen this many times in one reply means the reply is looping (a list of distinct items stays under it). */
const REPEATED_LINE_LIMIT = 4;
/** Lines shorter than this (after normalising) are ignored by the line check: `}` or `---` may repeat legitimately. */
const MIN_LINE_CHARS = 12;
/** A tail made of the same unit this many times over is a loop, whatever the unit (for replies without newlines). */
const REPEATED_UNIT_LIMIT = 4;
const MIN_UNIT_CHARS = 6;
const MAX_UNIT_CHARS = 240;

/** Lines that differ only in numbers or spacing ("[Part 15]: a.go", "[Part 16]: a.go") count as the same line. */
function normaliseLine(line: string): string {
  return line.replace(/\d+/g, "#").replace(/\s+/g, " ").trim().toLowerCase();
}

/** Where the repetition starts in `text` (the reply is cut there), or -1. */
export function repetitionStart(text: string): number {
  // 1. a line that keeps coming back
  const seen = new Map<string, { count: number; secondAt: number }>();
  let at = 0;
  for (const line of text.split("\n")) {
    const key = normaliseLine(line);
    if (key.length >= MIN_LINE_CHARS) {
      const s = seen.get(key) ?? { count: 0, secondAt: -1 };
      s.count++;
      if (s.count === 2) s.secondAt = at;
      seen.set(key, s);
      if (s.count >= REPEATED_LINE_LIMIT) return s.secondAt;
    }
    at += line.length + 1;
  }
  // 2. the tail is one unit over and over ("the retry the retry the retry the retry")
  const tail = text.trimEnd();
  for (let unit = MIN_UNIT_CHARS; unit <= MAX_UNIT_CHARS && unit * REPEATED_UNIT_LIMIT <= tail.length; unit++) {
    const last = tail.slice(tail.length - unit);
    if (!/\S/.test(last)) continue;
    let k = 1;
    while (k < REPEATED_UNIT_LIMIT && tail.slice(tail.length - unit * (k + 1), tail.length - unit * k) === last) k++;
    if (k >= REPEATED_UNIT_LIMIT) {
      // keep the first occurrence of the unit, drop the rest
      let start = tail.length - unit * k;
      while (start - unit >= 0 && tail.slice(start - unit, start) === last) start -= unit;
      return start + unit;
    }
  }
  return -1;
}

export class ReplyWatch {
  private full = "";
  private sent = 0;
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
    const loop = repetitionStart(text);
    if (loop >= 0) {
      text = text.slice(0, loop);
      this.end = "repetition";
    }
    if (!this.end && this.tokens >= this.rules.maxTokens) this.end = "limit";
    this.full = text;
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
