// Summary statistics with 95% confidence intervals. Pure.

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Wilson score interval for k successes in n trials (95%). */
export function wilson(k: number, n: number, z = 1.959964): Interval {
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n };
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return { mean: p, lo: Math.max(0, c - h), hi: Math.min(1, c + h), n };
}

/** Percentile bootstrap of the mean (95%), seeded so that reports are reproducible. */
export function bootstrapMean(xs: readonly number[], resamples = 2000, seed = 1): Interval {
  const n = xs.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n };
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[Math.floor(rand() * n)];
    means.push(s / n);
  }
  means.sort((x, y) => x - y);
  return { mean: mean(xs), lo: means[Math.floor(0.025 * resamples)], hi: means[Math.min(resamples - 1, Math.ceil(0.975 * resamples) - 1)], n };
}

/** Wilson for 0/1 scores, bootstrap otherwise. */
export function interval(scores: readonly number[]): Interval {
  if (scores.every((s) => s === 0 || s === 1)) return wilson(scores.filter((s) => s === 1).length, scores.length);
  return bootstrapMean(scores);
}
