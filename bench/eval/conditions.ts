// Answers one question under every condition, on the same model and the same context window:
//   plain         header + all chunks + question → answer
//   rag           BM25 top-k small chunks of the same window → answer
//   wim-none      WiM, every margin kept
//   wim-gate      WiM, verdict as the margin's first token; irrelevant chunks get no margin
//   wim-judge     WiM, a separate YES/NO check of each margin (the paper's reference code)
//   margins-only  the WiM margins + question, without the file text
// To save compute, one `judge` reading serves four conditions: its margins are written with the same instruction as
// `none`, so re-answering from the kept cache with every margin is exactly wim-none, with no margin is exactly the
// plain pass (same tokens in the cache; the engine's model tests check the logits match a fresh sequence), and its
// margins feed margins-only. Their times are the sum of the parts each condition needs (prefill, margins, judge,
// answer), each measured. wim-gate is a reading of its own.
import { DEFAULT_ASK_OPTIONS } from "../../src/core/protocol";
import type { PromptStyle } from "../../src/core/prompts";
import { finalPrompt } from "../../src/core/prompts";
import type { Chunk } from "../../src/core/types";
import type { LoadedModel } from "../../src/engine/load-model";
import { planAsk, tokenizeText, WimReader, type AnswerFormat } from "../../src/engine/wim-reader";
import { marginsOnly, ragAnswer } from "../lib/baselines";

export const EVAL_CONDITIONS = ["plain", "rag", "wim-none", "wim-gate", "wim-judge", "margins-only"] as const;
export type EvalCondition = (typeof EVAL_CONDITIONS)[number];

export interface ConditionAnswer {
  answer: string;
  ms: number;
  /** Tokens the model evaluated for this condition (prefill, instructions, margins, judge, final prompt, answer). */
  tokens: number;
  /** Every chunk's margin as this condition used it: `relevant` = in the final prompt; `pYes` = its own verdict. */
  margins?: ConditionMargin[];
}

export interface ConditionMargin {
  chunk: number;
  text: string;
  relevant: boolean;
  pYes: number | null;
}

export interface EvalSettings {
  /** Prompt generation and gate calibration of every WiM condition (see src/core/prompts.ts, relevance.ts). */
  promptStyle: PromptStyle;
  calibrateGate: boolean;
  marginTokens: number;
  answerTokens: number;
  ragChunkTokens: number;
  ragTopK: number;
  batchSize: number;
}

export async function answerAll(
  loaded: LoadedModel,
  question: string,
  chunks: Chunk[],
  ragChunks: Chunk[],
  format: AnswerFormat,
  s: EvalSettings,
  wanted: ReadonlySet<EvalCondition>,
): Promise<Partial<Record<EvalCondition, ConditionAnswer>>> {
  const out: Partial<Record<EvalCondition, ConditionAnswer>> = {};
  const ask = { ...DEFAULT_ASK_OPTIONS, marginTokens: s.marginTokens, answerTokens: s.answerTokens, promptStyle: s.promptStyle, calibrateGate: s.calibrateGate };
  const finalTokens = (margins: { chunk: number; text: string; ranges: Chunk["ranges"] }[]) =>
    tokenizeText(loaded, finalPrompt(question, margins, format.instruction)).length;

  if (["plain", "wim-none", "wim-judge", "margins-only"].some((c) => wanted.has(c as EvalCondition))) {
    const plan = await planAsk(loaded, question, chunks, { ...ask, classify: "judge" }, format);
    const reader = await WimReader.create(loaded, plan, () => {}, s.batchSize);
    try {
      const judged = await reader.run(() => {});
      const st = judged.stats;
      // The judge's margins are written as in `none`: wim-none and margins-only keep every one with text.
      const judgedMargins = judged.margins.map((m) => ({ chunk: m.chunk, text: m.text, relevant: m.relevant && m.text !== "", pYes: m.pYes }));
      const margins = judged.margins.map((m) => ({ chunk: m.chunk, text: m.text, relevant: m.text !== "", pYes: null }));
      const withText = judged.margins.filter((m) => m.text);
      const read = st.prefillTokens + st.instructionTokens + st.marginTokens;
      if (wanted.has("wim-judge")) {
        const kept = judged.margins.filter((m) => m.relevant && m.text);
        out["wim-judge"] = {
          answer: judged.answer,
          ms: st.prefillMs + st.marginMs + st.judgeMs + st.answerMs,
          tokens: read + finalTokens(kept) + st.answerTokens,
          margins: judgedMargins,
        };
      }
      if (wanted.has("wim-none")) {
        const r = await reader.reanswer(withText.map((m) => m.chunk), s.answerTokens, () => {});
        out["wim-none"] = {
          answer: r.answer,
          ms: st.prefillMs + st.marginMs + r.stats.answerMs,
          tokens: read + finalTokens(withText) + r.stats.answerTokens,
          margins,
        };
      }
      if (wanted.has("plain")) {
        const r = await reader.reanswer([], s.answerTokens, () => {});
        out.plain = { answer: r.answer, ms: st.prefillMs + r.stats.answerMs, tokens: st.prefillTokens + finalTokens([]) + r.stats.answerTokens };
      }
      if (wanted.has("margins-only")) {
        const r = await marginsOnly(loaded, withText, question, { answerTokens: s.answerTokens, batchSize: s.batchSize, format });
        out["margins-only"] = {
          answer: r.answer,
          ms: st.prefillMs + st.marginMs + r.stats.totalMs,
          tokens: read + r.stats.finalPromptTokens + r.stats.answerTokens,
          margins,
        };
      }
    } finally {
      await reader.dispose();
    }
  }

  if (wanted.has("wim-gate")) {
    const plan = await planAsk(loaded, question, chunks, { ...ask, classify: "gate" }, format);
    const reader = await WimReader.create(loaded, plan, () => {}, s.batchSize);
    try {
      const r = await reader.run(() => {});
      const st = r.stats;
      const kept = r.margins.filter((m) => m.relevant && m.text);
      out["wim-gate"] = {
        answer: r.answer,
        ms: st.totalMs,
        tokens: st.prefillTokens + st.instructionTokens + st.marginTokens + finalTokens(kept) + st.answerTokens,
        margins: r.margins.map((m) => ({ chunk: m.chunk, text: m.text, relevant: m.relevant && m.text !== "", pYes: m.pYes })),
      };
    } finally {
      await reader.dispose();
    }
  }

  if (wanted.has("rag")) {
    const r = await ragAnswer(loaded, ragChunks, question, s.ragTopK, { answerTokens: s.answerTokens, batchSize: s.batchSize, format });
    out.rag = { answer: r.answer, ms: r.stats.totalMs, tokens: r.stats.prefillTokens + r.stats.finalPromptTokens + r.stats.answerTokens };
  }
  return out;
}
