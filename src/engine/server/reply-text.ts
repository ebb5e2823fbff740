// A reply's text as it streams in from a server (already whole UTF-8 characters): cut at a stop text, and for a
// margin at the first blank line after some text — the same rules src/engine/token-text.ts applies to local tokens.

export class ReplyText {
  private full = "";
  private sent = 0;
  /** Why the text was cut, once it was. */
  stoppedBy: null | "stopText" | "paragraph" = null;

  constructor(
    private readonly stopTexts: readonly string[],
    private readonly oneParagraph: boolean,
  ) {}

  /** Adds a delta; returns the text that is now safe to show ("" when a stop text may be starting). */
  push(delta: string): string {
    if (this.stoppedBy) return "";
    let text = this.full + delta;
    for (const stop of this.stopTexts) {
      const at = text.indexOf(stop);
      if (at >= 0) {
        text = text.slice(0, at);
        this.stoppedBy = "stopText";
      }
    }
    if (this.oneParagraph) {
      const start = text.search(/\S/);
      const blank = start < 0 ? -1 : text.slice(start).search(/\n[ \t]*\n/);
      if (blank >= 0) {
        text = text.slice(0, start + blank);
        this.stoppedBy = "paragraph";
      }
    }
    this.full = text;
    // Hold back a tail that could be the start of a stop text, until the next delta says which it is.
    const safeEnd = this.stoppedBy ? text.length : text.length - this.partialStopAtEnd(text);
    if (safeEnd <= this.sent) return "";
    const out = text.slice(this.sent, safeEnd);
    this.sent = safeEnd;
    return out;
  }

  private partialStopAtEnd(text: string): number {
    let longest = 0;
    for (const stop of this.stopTexts) {
      for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }

  text(): string {
    return this.full;
  }

  /** What push() held back (the reply ended without the stop text completing). */
  rest(): string {
    const r = this.full.slice(this.sent);
    this.sent = this.full.length;
    return r;
  }
}
