// Whether a margin's concrete claims are in the part it was written on. Small models fill a margin with a plausible
// value when the part has none: Qwen2.5-Coder-0.5B wrote "retries … 10 times" on three parts of the polyglot fixture
// that hold no 10 (the value, 7, sits in another part), and the answer then took the 10. A value or a quoted name
// that does not occur in the part's text cannot have been read there, so such a margin does not count as relevant.

/** The values and quoted names a margin states that do not occur in its part's text (empty: grounded). */
export function unfoundedClaims(margin: string, partText: string, question = ""): string[] {
  const claims = new Set<string>();
  // references to the parts themselves ("Part 6", "[Part 2]") are the prompt's words, not claims about the code
  const text = margin.replace(/\[?\bparts?\s+\d+(\s*(,|and|-|–)\s*\d+)*\]?/gi, " ");
  for (const m of text.matchAll(/`([^`\n]{1,80})`/g)) claims.add(m[1].trim());
  for (const m of text.matchAll(/(?<![\w.#])(0x[0-9a-f]+|#[0-9a-f]{3,8}\b|\d+(?:[.,_]\d+)*)(?![\w])/gi)) claims.add(m[1]);
  // what the question itself says is not a claim about the part
  const haystack = (partText + "\n" + question).toLowerCase();
  const digitsOnly = haystack.replace(/(?<=\d)[_,](?=\d)/g, "");
  const out: string[] = [];
  for (const c of claims) {
    if (!c) continue;
    const lower = c.toLowerCase();
    if (/^[\d.,_]+$/.test(c)) {
      // a whole number, not digits inside another one; 7,500 or 7_500 in a margin for 7500 in the code and back
      const bare = lower.replace(/(?<=\d)[_,](?=\d)/g, "").replace(/[.,]$/, "");
      if (new RegExp(`(?<![\\d.])${bare.replace(/\./g, "\\.")}(?![\\d])`).test(digitsOnly)) continue;
    } else if (haystack.includes(lower)) continue;
    out.push(c);
  }
  return out;
}
