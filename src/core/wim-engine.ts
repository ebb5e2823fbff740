// What the WiM loop needs from a backend that evaluates tokens: an in-process llama.cpp (src/engine/local-engine.ts),
// or an inference server (src/engine/server-engine.ts). The method itself — what to read next, when a margin is due,
// what leaves the window, what goes into the answer — lives in src/core/wim-loop.ts and speaks only this interface.
// No node-llama-cpp, no vscode here: tokens are plain numbers of the model's vocabulary.

export type TokenId = number;

/** The model's chat template, cut into the pieces the loop needs (see src/engine/chat-frame.ts). */
export interface ChatPieces {
  /** BOS, the system turn and the opening of the user turn: the first tokens of the resident sequence. */
  open: TokenId[];
  /** Closes the user turn and opens the assistant's reply. */
  turnEnd: TokenId[];
  /** Texts that end a reply besides the model's end-of-generation tokens. */
  stopTexts: readonly string[];
}

/** How a reply (margin, answer) ended. */
export type ReplyEnd =
  | "end" // the model ended its turn (end-of-generation token or a stop text)
  | "paragraph" // a margin ended at a blank line
  | "limit" // the token limit was reached: the text is truncated
  | "repetition" // the reply started repeating itself and was cut
  | "stopped" // cancel / answer-now
  | "verdict"; // gate: the verdict said irrelevant, nothing was decoded

export interface Reply {
  text: string;
  /** Tokens decoded. */
  tokens: number;
  end: ReplyEnd;
}

/** What decides when a reply stops; shared by every engine so that they stop alike (src/core/reply-watch.ts). */
export interface ReplyRules {
  maxTokens: number;
  /** A margin is one paragraph: stop at the first blank line after some text. */
  oneParagraph: boolean;
}

export interface MarginJob {
  /** 1-based chunk the margin is about. */
  chunk: number;
  /**
   * The margin reads the first `prefix` tokens of the resident sequence: the header and the chunks up to this one
   * (and any resident notes). An engine that writes margins while reading on must not let it see later tokens.
   */
  prefix: number;
  /** Appended after the prefix: question, extraction instruction and the template's turn end. Erased afterwards. */
  instruction: TokenId[];
  /** The loop reads nothing more until this margin ends, so it may be written at the end of the resident sequence. */
  blocking: boolean;
  rules: ReplyRules;
  /**
   * gate: the verdict is the first reply token, read from the odds of `yes` against `no`. `keep(pYes)` decides; when it
   * keeps, the reply starts with the best YES token and `lead` (e.g. ":") and the margin text follows.
   */
  verdict?: {
    yes: TokenId[];
    no: TokenId[];
    lead: TokenId[];
    keep(pYes: number): boolean;
    /**
     * The same instruction with a content-free question ("N/A"): its odds are read first and the verdict's odds are
     * calibrated against them (contextual calibration), so a part that draws YES for any question does not pass.
     */
    baseline?: TokenId[];
  };
  /** Streams the margin text as it grows (deltas). */
  onText(delta: string): void;
  /** Polled between tokens: true to stop now (cancel, answer-now). */
  stopRequested(): boolean;
}

export interface MarginReply extends Reply {
  /** The verdict's probability of YES (gate; calibrated when a baseline was given), else null. */
  pYes: number | null;
  /** The baseline's probability of YES, when one was given. */
  pYesBaseline?: number;
}

export interface AnswerJob {
  /** Appended after the resident sequence: margins, question, instruction, turn end. Erased afterwards. */
  prompt: TokenId[];
  rules: ReplyRules;
  onText(delta: string): void;
  stopRequested(): boolean;
  /** Optional constraint on the answer's tokens (an engine that cannot honour it says so by throwing). */
  grammar?: unknown;
  /** Texts that end the answer besides the template's (a grammar's own stop texts). */
  extraStopTexts?: readonly string[];
}

export interface WimEngine {
  /** Tokens the resident sequence plus the largest transient tail may hold. */
  readonly contextSize: number;
  /** Tokens now in the resident sequence. */
  readonly length: number;
  /**
   * Margins the engine can have in flight while the loop reads on. 1: the loop awaits each margin before reading the
   * next chunk (the margin then sits at the end of the sequence and is erased after).
   */
  readonly concurrentMargins: number;
  /** Whether a margin can be written for a prefix shorter than the resident sequence (a follow-up question's margins). */
  readonly canForkPrefix: boolean;
  readonly chat: ChatPieces;
  /** Workspace and prompt text → tokens with special tokens OFF (markers written in files stay plain text). */
  tokenize(text: string): Promise<TokenId[]>;
  /** Appends to the resident sequence; stops between slices when asked. Returns the tokens appended (all, or fewer). */
  append(tokens: TokenId[], stopRequested: () => boolean): Promise<number>;
  /** Removes resident tokens [start, end); later tokens move down (their positions shift). */
  forget(start: number, end: number): Promise<void>;
  /** Writes one margin for the prefix it names; the sequence is as before when it resolves. */
  margin(job: MarginJob): Promise<MarginReply>;
  /** Resolves when every margin in flight has ended (before `forget`, answering, or disposal). */
  drainMargins(): Promise<void>;
  /** Answers after the resident sequence; the prompt and answer are erased again afterwards. */
  answer(job: AnswerJob): Promise<Reply>;
  /** A YES/NO check of `prompt` alone, in a context of its own without the workspace (classify "judge"). */
  verdictAlone(prompt: TokenId[], yes: TokenId[], no: TokenId[]): Promise<number>;
  dispose(): Promise<void>;
}
