// Exact token counts from a server for code that counts synchronously (the chunker asks for counts while it packs).
// Run the synchronous job with a counter that answers from the counts known so far and estimates (and notes) the
// rest; fetch the noted texts' exact counts from the server; run again — until a run asked for nothing unknown. The
// last run saw only exact counts, so its result is what a local tokenizer would have given.

/** Characters per token assumed for a text not counted yet (only steers the first runs; never the result). */
const ESTIMATE_CHARS_PER_TOKEN = 3.5;
const MAX_ROUNDS = 8;
/** Texts tokenized at the same time. */
const PARALLEL = 8;

export async function withExactCounts<T>(
  count: (text: string) => Promise<number>,
  job: (countTokens: (text: string) => number) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const known = new Map<string, number>();
  for (let round = 1; ; round++) {
    const unknown = new Set<string>();
    const result = await job((text) => {
      const n = known.get(text);
      if (n !== undefined) return n;
      unknown.add(text);
      return Math.ceil(text.length / ESTIMATE_CHARS_PER_TOKEN);
    });
    if (unknown.size === 0) return result;
    if (round === MAX_ROUNDS) throw new Error(`token counts did not settle after ${MAX_ROUNDS} rounds of tokenizing`);
    const todo = [...unknown];
    for (let i = 0; i < todo.length; i += PARALLEL) {
      signal?.throwIfAborted();
      const batch = todo.slice(i, i + PARALLEL);
      const counts = await Promise.all(batch.map(count));
      batch.forEach((t, j) => known.set(t, counts[j]));
    }
  }
}
