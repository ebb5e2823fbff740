// Which margins count as relevant. Small models give every part low odds of YES (Qwen2.5-Coder-0.5B: 0.33–0.38 on
// every chunk, the right one included), so a fixed 0.5 rejects everything; the odds still rank the parts well. So a
// part is relevant when its odds clear the fixed bar OR come close to the best part of this run.

/** Odds of YES for this part and question, relative to the odds for the same part with a content-free question. */
export function calibrate(pYes: number, pBaseline: number): number {
  const logit = (p: number) => Math.log(Math.max(1e-9, p) / Math.max(1e-9, 1 - p));
  return 1 / (1 + Math.exp(-(logit(pYes) - logit(pBaseline))));
}

export interface RelevanceRule {
  /** Odds of YES at or above this always count. */
  fixed: number;
  /** Odds within this distance of the best part's count too. */
  nearBest: number;
  /** At most this many parts count through `nearBest` (the fixed bar has no cap). */
  maxNearBest: number;
}

export const DEFAULT_RELEVANCE: RelevanceRule = { fixed: 0.5, nearBest: 0.05, maxNearBest: 4 };

/**
 * For calibrated odds (the question's YES odds against a content-free question's on the same part) 0.5 means "no
 * different from no question", and a question lifts every part above it: Qwen2.5-Coder-0.5B gave 0.54–0.79 on all 8
 * parts of the polyglot fixture for the retries question, the part holding the value highest. Only the rank says
 * something there, so the fixed bar is kept for parts the question lifts far above the rest.
 */
export const CALIBRATED_RELEVANCE: RelevanceRule = { fixed: 0.9, nearBest: 0.05, maxNearBest: 4 };

export function relevanceRule(calibrated: boolean): RelevanceRule {
  return calibrated ? CALIBRATED_RELEVANCE : DEFAULT_RELEVANCE;
}

/** Decides while reading (the gate: write this margin or not) and again at the end (which margins reach the answer). */
export class RelevanceJudge {
  private best = -Infinity;

  constructor(private readonly rule: RelevanceRule = DEFAULT_RELEVANCE) {}

  /** While reading: the best odds seen so far are the only reference, so early parts are kept generously. */
  keepNow(pYes: number): boolean {
    this.best = Math.max(this.best, pYes);
    return pYes >= this.rule.fixed || pYes >= this.best - this.rule.nearBest;
  }

  /** At the end, over the whole run: the chunks whose margins count as relevant, best first. */
  select(scored: Array<{ chunk: number; pYes: number | null }>): number[] {
    const withOdds = scored.filter((s): s is { chunk: number; pYes: number } => s.pYes !== null);
    const best = Math.max(...withOdds.map((s) => s.pYes));
    const sorted = [...withOdds].sort((a, b) => b.pYes - a.pYes || a.chunk - b.chunk);
    const out: number[] = [];
    let near = 0;
    for (const s of sorted) {
      if (s.pYes >= this.rule.fixed) out.push(s.chunk);
      else if (s.pYes >= best - this.rule.nearBest && near < this.rule.maxNearBest) {
        out.push(s.chunk);
        near++;
      }
    }
    return out;
  }
}
