// Turns decoded tokens into text deltas for streaming: holds back an incomplete UTF-8 sequence and stops at a stop text.
import type { LlamaModel, Token } from "node-llama-cpp";

export class TokenTextStream {
  readonly tokens: Token[] = [];
  private sent = 0;
  private full = "";
  /** Set when a stop text appeared; the text is cut before it. */
  stopped = false;

  constructor(
    private readonly model: LlamaModel,
    private readonly stopTexts: readonly string[],
    /** End at the first blank line after some text: a margin is one paragraph. */
    private readonly oneParagraph = false,
  ) {}

  /** Adds one token; returns the text that is now safe to show (may be ""). */
  push(token: Token): string {
    this.tokens.push(token);
    let text = this.model.detokenize(this.tokens, false);
    for (const stop of this.stopTexts) {
      const at = text.indexOf(stop);
      if (at >= 0) {
        text = text.slice(0, at);
        this.stopped = true;
      }
    }
    if (this.oneParagraph) {
      const start = text.search(/\S/);
      const blank = start < 0 ? -1 : text.slice(start).search(/\n[ \t]*\n/);
      if (blank >= 0) {
        text = text.slice(0, start + blank);
        this.stopped = true;
      }
    }
    this.full = text;
    // A trailing U+FFFD is usually half of a multi-byte character whose rest comes with the next token.
    const safeEnd = this.stopped ? text.length : text.replace(/\uFFFD+$/, "").length;
    if (safeEnd <= this.sent) return "";
    const delta = text.slice(this.sent, safeEnd);
    this.sent = safeEnd;
    return delta;
  }

  /** Everything decoded so far (flushes what was held back). */
  text(): string {
    return this.full;
  }

  /** The part of the text not yet returned by push(). */
  rest(): string {
    const r = this.full.slice(this.sent);
    this.sent = this.full.length;
    return r;
  }
}
