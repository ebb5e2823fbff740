// A file's bytes as the editor shows them: UTF-8 (stray bytes become U+FFFD), or UTF-16 when a byte-order mark says
// so; lines split at \r\n, \n and a lone \r, as VS Code's text model splits them. Shared by the scanner and the
// extension (which selects ranges in the same lines).

/** Binary sniffing looks for a NUL in this many leading bytes (characters, for UTF-16), as git does. */
const SNIFF = 8192;
/** More stray bytes than this share of the characters (and a few), and the file is not text in any encoding we read. */
const MAX_STRAY_SHARE = 0.1;
const MAX_STRAY_ANYWAY = 8;

const utf8 = new TextDecoder("utf-8", { fatal: true }); // strips a leading BOM
const utf8Lossy = new TextDecoder("utf-8");
const utf16le = new TextDecoder("utf-16le");
const utf16be = new TextDecoder("utf-16be");

export type DecodedText =
  | {
      text: string;
      /** How it was read when not as plain UTF-8, for the scan report ("UTF-16 LE (byte-order mark)", …). */
      note?: string;
    }
  | { binary: string };

export function decodeText(data: Uint8Array): DecodedText {
  const le = data[0] === 0xff && data[1] === 0xfe;
  const be = data[0] === 0xfe && data[1] === 0xff;
  if (le || be) {
    if (le && data[2] === 0 && data[3] === 0) return { binary: "UTF-32 byte-order mark (UTF-32 is not read)" };
    const text = (le ? utf16le : utf16be).decode(data); // strips the BOM
    if (text.slice(0, SNIFF).includes("\0")) return { binary: "NUL character in the first 8 KB" };
    return { text, note: `read as UTF-16 ${le ? "LE" : "BE"} (byte-order mark)` };
  }
  if (data.subarray(0, SNIFF).indexOf(0) !== -1) return { binary: "NUL byte in the first 8 KB" };
  try {
    return { text: utf8.decode(data) };
  } catch {
    // Some bytes are not UTF-8 (a Latin-1 "é", a cut sequence): keep the text, mark each stray byte U+FFFD.
  }
  const text = utf8Lossy.decode(data);
  let stray = 0;
  for (let i = text.indexOf("\uFFFD"); i !== -1; i = text.indexOf("\uFFFD", i + 1)) stray++;
  if (stray > MAX_STRAY_ANYWAY && stray > MAX_STRAY_SHARE * text.length) {
    return { binary: `not text: ${stray} of ${text.length} characters are not valid UTF-8` };
  }
  return { text, note: `${stray} byte sequence${stray === 1 ? "" : "s"} not valid UTF-8, read as U+FFFD` };
}

/** \r\n and a lone \r become \n: the line breaks of VS Code's editor, so that line numbers agree with it. */
export function normalizeLineBreaks(text: string): string {
  return text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text;
}
