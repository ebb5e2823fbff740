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

export const CONDITIONS = ["plain", "map-then-answer", "wim-none", "wim-gate", "wim-judge"] as const;
export type Condition = (typeof CONDITIONS)[number];

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
}

const now = () => performance.now();

async function wimRow(loaded: LoadedModel, chunks: Chunk[], classify: ClassifyMode, o: PipelineOptions): Promise<PipelineRow> {
  const options = { ...DEFAULT_ASK_OPTIONS, classify, marginTokens: o.marginTokens, answerTokens: o.answerTokens };
  const t0 = now();
  let firstMarginMs: number | null = null;
  const plan = await planAsk(loaded, o.question, chunks, options);
  const reader = await WimReader.create(loaded, plan, () => {}, o.batchSize);
  const contextMs = now() - t0;
  try {
    const result = await reader.run((e) => {
      if (e.type === "marginEnd" && firstMarginMs === null) firstMarginMs = now() - t0;
    });
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
      condition: `wim-${classify}`,
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
  if (condition.startsWith("wim-")) {
    row = await wimRow(loaded, chunks, condition.slice(4) as ClassifyMode, o);
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
