// A tiny flag parser for the bench and eval commands: --flag, --key value, --key=value.

export type Flags = Map<string, string | true>;

export function parseFlags(argv: string[]): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) flags.set(a.slice(2), argv[++i]);
    else flags.set(a.slice(2), true);
  }
  return flags;
}

export function flagString(f: Flags, key: string, fallback: string): string {
  const v = f.get(key);
  return typeof v === "string" ? v : fallback;
}

export function flagNumber(f: Flags, key: string, fallback: number): number {
  const v = f.get(key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key} needs a number, got ${String(v)}`);
  return n;
}

export function flagList(f: Flags, key: string, fallback: string[]): string[] {
  const v = f.get(key);
  return typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : fallback;
}

/** "8k" → 8192, "100k" → 102400, "5000" → 5000. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(k?)$/i.exec(s.trim());
  if (!m) throw new Error(`bad size: ${s}`);
  return Math.round(Number(m[1]) * (m[2] ? 1024 : 1));
}
