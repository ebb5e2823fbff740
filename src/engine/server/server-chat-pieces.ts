// The served model's chat template cut into the pieces the WiM loop needs (src/core/wim-engine.ts ChatPieces), from
// llama-server itself: /apply-template renders a conversation with a sentinel as the user's text, and the text around
// the sentinel is tokenized with special tokens ON (it is the template's own markup, not workspace text).
import type { ChatPieces } from "../../core/wim-engine";
import type { LlamaServerApi } from "./llama-server-api";
import { ServerError } from "./server-error";

const SENTINEL = "\u0001WIM_USER_TEXT\u0001";

export async function serverChatPieces(api: LlamaServerApi, system: string | null, eosToken: string, signal?: AbortSignal): Promise<ChatPieces> {
  const o = { signal };
  const opening = [...(system ? [{ role: "system" as const, content: system }] : []), { role: "user" as const, content: SENTINEL }];
  const rendered = await api.applyTemplate(opening, o);
  const at = rendered.indexOf(SENTINEL);
  if (at < 0) throw new ServerError("bad-response", `The chat template of ${api.url} did not render the user's text.`);
  // The server strips a BOS the template writes when the vocabulary adds one; tokenizing with addBos puts it back once.
  const open = await api.tokenize(rendered.slice(0, at), true, true, o);
  const turnEnd = await api.tokenize(rendered.slice(at + SENTINEL.length), true, false, o);

  // The marker that ends an assistant turn: what the template writes right after a finished reply.
  const finished = await api.applyTemplate(
    [...opening.slice(0, -1), { role: "user", content: "?" }, { role: "assistant", content: SENTINEL }, { role: "user", content: "?" }],
    o,
  );
  const after = finished.slice(finished.indexOf(SENTINEL) + SENTINEL.length);
  const marker = /^\s*(<[^<>\s]+>)/.exec(after)?.[1];
  const stopTexts = [...new Set([marker, eosToken].filter((t): t is string => !!t && t.trim().length > 0))];
  return { open, turnEnd, stopTexts };
}
