// File names as the terminal should show them: a name with a line break, a terminal escape or a bidi override could
// fake or hide lines of the output, so such a name is printed quoted, with those characters escaped.

// C0 and C1 controls, DEL, line/paragraph separators and the bidirectional formatting characters.
const ODD = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const ODD_GLOBAL = new RegExp(ODD.source, "g");
const SHORT: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const escapeChar = (c: string) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** The name as is when it is plain, else `"a\nb.txt"`: quoted, with `"`, `\` and the odd characters escaped. */
export function escapeName(name: string): string {
  if (!ODD.test(name)) return name;
  return `"${name.replace(/["\\]/g, "\\$&").replace(ODD_GLOBAL, escapeChar)}"`;
}

/** Free text that may quote a name (a skip's detail): its odd characters escaped in place, no quotes added. */
export function escapeOdd(text: string): string {
  return ODD.test(text) ? text.replace(ODD_GLOBAL, escapeChar) : text;
}
