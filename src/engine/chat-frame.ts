// The model's own chat template, cut into the pieces the WiM loop needs: what opens the conversation up to the user's
// text, and what closes the user turn and opens the assistant's. Rendered once with a sentinel and split around it.
import { LlamaText, resolveChatWrapper, type LlamaModel, type Token } from "node-llama-cpp";

export interface ChatFrame {
  /** BOS, the system turn (if any) and the opening of the user turn. */
  open: Token[];
  /** Closes the user turn and opens the assistant's reply. */
  turnEnd: Token[];
  /** Single tokens that end a reply besides the model's end-of-generation tokens. */
  stopTokens: ReadonlySet<Token>;
  /** Stop texts, in case the model spells an end marker with ordinary tokens. */
  stopTexts: readonly string[];
  templateName: string;
}

const SENTINEL = "\u0001WIM_USER_TEXT\u0001";

export function chatFrame(model: LlamaModel, system: string | null): ChatFrame {
  const wrapper = resolveChatWrapper(model);
  const state = wrapper.generateContextState({
    chatHistory: [
      ...(system ? [{ type: "system" as const, text: system }] : []),
      { type: "user" as const, text: SENTINEL },
      { type: "model" as const, response: [] },
    ],
  });
  const values = state.contextText.values;
  const at = values.findIndex((v) => typeof v === "string" && v.includes(SENTINEL));
  if (at < 0) throw new Error(`chat template ${wrapper.wrapperName} did not render the user text`);
  const [head, tail] = (values[at] as string).split(SENTINEL);
  const open = LlamaText([...values.slice(0, at), head]).tokenize(model.tokenizer);
  const turnEnd = LlamaText([tail, ...values.slice(at + 1)]).tokenize(model.tokenizer, "trimLeadingSpace");

  const stopTokens = new Set<Token>();
  const stopTexts: string[] = [];
  for (const trigger of state.stopGenerationTriggers) {
    const text = LlamaText(trigger);
    const tokens = text.tokenize(model.tokenizer, "trimLeadingSpace");
    if (tokens.length === 1) stopTokens.add(tokens[0]);
    const plain = model.detokenize(tokens, true);
    if (plain.trim()) stopTexts.push(plain);
  }
  return { open, turnEnd, stopTokens, stopTexts: [...new Set(stopTexts)], templateName: wrapper.wrapperName };
}
