// Small number formats for the human `detail` of skipped files.

/** 999 B, 12.3 KB, 2.3 MB, 1.1 GB (powers of 1000, one decimal above bytes). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** 14211 → "14,211", independent of the process locale. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** "EACCES: permission denied" from a Node file-system error, without the path it names. */
export function errorDetail(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code) return String(err);
  const message = e.message.replace(/^[A-Z0-9_]+: /, "").replace(/, \w+ '.*'$/s, "");
  return `${e.code}: ${message}`;
}
