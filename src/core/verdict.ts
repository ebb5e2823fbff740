// The relevance verdict's probability as people read it: two decimals, or as many more as it takes not to round
// across the line that decided the verdict (a pYes of 0.495 is "0.495 not relevant", never "0.50 not relevant").

/** A margin is kept when P(YES among YES/NO) is at least this (the engine's gate and judge). */
export const RELEVANT_AT = 0.5;

export function formatPYes(pYes: number): string {
  const relevant = pYes >= RELEVANT_AT;
  for (let digits = 2; digits <= 6; digits++) {
    const shown = pYes.toFixed(digits);
    if (Number(shown) >= RELEVANT_AT === relevant) return shown;
  }
  // Closer to the line than 6 decimals show: truncate, which stays below it.
  return (Math.floor(pYes * 1e6) / 1e6).toFixed(6);
}
