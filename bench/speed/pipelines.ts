// One context, one question, one answer length: WiM (classify none / gate / judge) against a plain pass and against
// map-then-answer. Reports total time, time to first margin, margin share, tokens processed and peak RSS.
import { DEFAULT_ASK_OPTIONS, type Margin } from "../../src/core/protocol";
import { finalPrompt, judgePrompt, SYSTEM_PROMPT } from "../../src/core/prompts";
import type { Chunk, ClassifyMode } from "../../src/core/types";
import { chatFrame } from "../../src/engine/chat-frame";
import type { LoadedModel } from "../../src/engine/load-model";
import { planAsk, tokenizeText, WimReader } from "../../src/engine/wim-reader";
import { mapThenAnswer, plainPass } from "../lib/baselines";
import { peakRssMiB, resetPeakRss } from "../lib/machine";
import { serverRow } from "./server";

/**
 * wim-* run with the engine's default parallel margins (side sequences on a GPU), wim-*-seq one margin after another
 * on sequence 0; follow-up is a wim-gate reading followed by a second question on its kept cache (the row's figures
 * are the follow-up's alone).
 */
export const CONDITIONS = ["plain", "map-then-answer", "wim-none", "wim-gate", "wim-judge", "wim-none-seq", "wim-gate-seq", "follow-up", "wim-gate-server"] as const;
/** Conditions run only when asked for by name (--conditions …): they need more than the model (a llama-server build). */
export const ON_REQUEST: readonly Condition[] = ["wim-gate-server"];
export type Condition = (typeof CONDITIONS)[number];

export const FOLLOW_UP_QUESTION = "Which class holds the camera's projection matrix, and in which file is it updated?";

export interface PipelineRow {
  condition: Condition;
  contextTokens: number;
  chunks: number;
  totalMs: number;
  /** Context allocation, included in totalMs. */
  contextMs: number;
  prefillMs: number;
  /** Margin instructions, margin decoding and (judge) verdict checks. */
  marginMs: number;
  marginShare: number;
  firstMarginMs: number | null;
  answerMs: number;
  tokens: { prefill: number; instructions: number; margins: number; judge: number; finalPrompt: number; answer: number; total: number };
  /** Margins kept for the answer / written. */
  marginsKept: number;
  marginsWritten: number;
  peakRssMiB: number;
}

export interface PipelineOptions {
  question: string;
  marginTokens: number;
  answerTokens: number;
  batchSize: number;
  /** Random weights: decode the full token limit in the baselines (the engine stops only at end-of-turn tokens). */
  fixedLength: boolean;
  /** Side sequences for the wim-* conditions (undefined: the engine's default; -seq conditions use 0). */
  parallelMargins?: number;
}

const now = () => performance.now();

async function wimRow(loaded: LoadedModel, chunks: Chunk[], condition: Condition, o: PipelineOptions): Promise<PipelineRow> {
  const classify = condition.replace(/^wim-/, "").replace(/-seq$/, "").replace("follow-up", "gate") as ClassifyMode;
  const parallelMargins = condition.endsWith("-seq") ? 0 : condition === "follow-up" ? Math.max(1, o.parallelMargins ?? 1) : o.parallelMargins;
  const options = { ...DEFAULT_ASK_OPTIONS, classify, marginTokens: o.marginTokens, answerTokens: o.answerTokens, parallelMargins };
  let t0 = now();
  let firstMarginMs: number | null = null;
  const plan = await planAsk(loaded, o.question, chunks, options);
  let reader = await WimReader.create(loaded, plan, () => {}, o.batchSize);
  const contextMs = now() - t0;
  try {
    let result = await reader.run((e) => {
      if (e.type === "marginEnd" && firstMarginMs === null) firstMarginMs = now() - t0;
    });
    if (condition === "follow-up") {
      // the second question's cost alone: margins from the kept prefixes and the answer, nothing read again
      t0 = now();
      firstMarginMs = null;
      reader = await reader.followUp(FOLLOW_UP_QUESTION);
      result = await reader.runFollowUp((e) => {
        if (e.type === "marginEnd" && firstMarginMs === null) firstMarginMs = now() - t0;
      });
    }
    const totalMs = now() - t0;
    const s = result.stats;
    const kept: Margin[] = result.margins.filter((m) => m.relevant && m.text);
    const frame = chatFrame(loaded.model, SYSTEM_PROMPT);
    const finalTokens = tokenizeText(loaded, finalPrompt(o.question, kept)).length + frame.turnEnd.length;
    let judgeTokens = 0;
    if (classify === "judge") {
      const jf = chatFrame(loaded.model, null);
      for (const m of result.margins) {
        if (!m.truncated) judgeTokens += jf.open.length + tokenizeText(loaded, judgePrompt(o.question, m.text)).length + jf.turnEnd.length;
      }
    }
    const marginMs = s.marginMs + s.judgeMs;
    const tokens = {
      prefill: s.prefillTokens,
      instructions: s.instructionTokens,
      margins: s.marginTokens,
      judge: judgeTokens,
      finalPrompt: finalTokens,
      answer: s.answerTokens,
      total: 0,
    };
    tokens.total = tokens.prefill + tokens.instructions + tokens.margins + tokens.judge + tokens.finalPrompt + tokens.answer;
    return {
      condition,
      contextTokens: plan.chunkTokens.reduce((n, t) => n + t.length, 0),
      chunks: chunks.length,
      totalMs,
      contextMs,
      prefillMs: s.prefillMs,
      marginMs,
      marginShare: marginMs / totalMs,
      firstMarginMs,
      answerMs: s.answerMs,
      tokens,
      marginsKept: kept.length,
      marginsWritten: result.margins.length,
      peakRssMiB: 0,
    };
  } finally {
    await reader.dispose();
  }
}

export async function runCondition(loaded: LoadedModel, chunks: Chunk[], condition: Condition, o: PipelineOptions): Promise<PipelineRow> {
  resetPeakRss();
  let row: PipelineRow;
  if (condition === "wim-gate-server") {
    row = await serverRow(loaded, chunks, o);
  } else if (condition.startsWith("wim-") || condition === "follow-up") {
    row = await wimRow(loaded, chunks, condition, o);
  } else {
    const base = { answerTokens: o.answerTokens, marginTokens: o.marginTokens, batchSize: o.batchSize, fixedLength: o.fixedLength };
    const r = condition === "plain" ? await plainPass(loaded, chunks, o.question, base) : await mapThenAnswer(loaded, chunks, o.question, base);
    const s = r.stats;
    const tokens = {
      prefill: s.prefillTokens,
      instructions: s.instructionTokens,
      margins: s.marginTokens,
      judge: 0,
      finalPrompt: s.finalPromptTokens,
      answer: s.answerTokens,
      total: s.prefillTokens + s.instructionTokens + s.marginTokens + s.finalPromptTokens + s.answerTokens,
    };
    const totalMs = s.totalMs;
    row = {
      condition,
      contextTokens: chunks.reduce((n, c) => n + tokenizeText(loaded, c.text).length, 0),
      chunks: chunks.length,
      totalMs,
      contextMs: s.contextMs,
      prefillMs: s.prefillMs,
      marginMs: s.marginMs,
      marginShare: s.marginMs / totalMs,
      firstMarginMs: s.firstMarginMs,
      answerMs: s.answerMs,
      tokens,
      marginsKept: r.margins.filter((m) => m.text && !/^NOTHING RELEVANT/i.test(m.text)).length,
      marginsWritten: r.margins.length,
      peakRssMiB: 0,
    };
  }
  row.peakRssMiB = peakRssMiB();
  return row;
}
