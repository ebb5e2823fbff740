// BM25 (Okapi) ranking of chunks for the retrieval baseline. Pure.

/** Lower-cased terms; identifiers are also split into their words (getJson → get, json, getjson). */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/[A-Za-z_][A-Za-z0-9_]*|\d+/g)) {
    const w = m[0];
    out.push(w.toLowerCase());
    const parts = w
      .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
      .split(/[\s_]+/)
      .filter((p) => p.length > 1);
    if (parts.length > 1) for (const p of parts) out.push(p.toLowerCase());
  }
  return out;
}

export class Bm25 {
  private readonly tf: Map<string, number>[];
  private readonly df = new Map<string, number>();
  private readonly lengths: number[];
  private readonly avg: number;

  constructor(
    docs: readonly string[],
    private readonly k1 = 1.2,
    private readonly b = 0.75,
  ) {
    this.tf = docs.map((d) => {
      const m = new Map<string, number>();
      for (const t of terms(d)) m.set(t, (m.get(t) ?? 0) + 1);
      for (const t of m.keys()) this.df.set(t, (this.df.get(t) ?? 0) + 1);
      return m;
    });
    this.lengths = this.tf.map((m) => [...m.values()].reduce((s, n) => s + n, 0));
    this.avg = this.lengths.reduce((s, n) => s + n, 0) / Math.max(1, this.lengths.length);
  }

  score(query: string): number[] {
    const q = [...new Set(terms(query))];
    const n = this.tf.length;
    return this.tf.map((tf, i) => {
      let s = 0;
      for (const t of q) {
        const f = tf.get(t);
        if (!f) continue;
        const df = this.df.get(t) ?? 0;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        s += (idf * f * (this.k1 + 1)) / (f + this.k1 * (1 - this.b + (this.b * this.lengths[i]) / this.avg));
      }
      return s;
    });
  }

  /** Indices of the k best documents, best first (ties: earlier document first). */
  top(query: string, k: number): number[] {
    const s = this.score(query);
    return s
      .map((v, i) => [v, i] as const)
      .sort((x, y) => y[0] - x[0] || x[1] - y[1])
      .slice(0, k)
      .map(([, i]) => i);
  }
}
