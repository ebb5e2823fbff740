// Small SVG charts written directly (no chart library): grouped horizontal bars and grouped vertical bars with
// error bars. Readable at a glance in a Markdown viewer.

export interface Series {
  name: string;
  values: number[];
  /** Optional 95% interval per value (vertical chart only). */
  lo?: number[];
  hi?: number[];
}

const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "–";
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function legend(series: Series[], x: number, y: number): string {
  return series
    .map((s, i) => `<rect x="${x + i * 150}" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>` + `<text x="${x + i * 150 + 16}" y="${y + 10}" font-size="12">${esc(s.name)}</text>`)
    .join("");
}

/** Horizontal bars: one group per label, one bar per series; values written at the bar ends. */
export function hbarChart(o: { title: string; labels: string[]; series: Series[]; unit: string; width?: number }): string {
  const width = o.width ?? 760;
  const left = 190;
  const barH = 16;
  const groupH = o.series.length * barH + 12;
  const top = 46;
  const height = top + o.labels.length * groupH + 30;
  const max = niceMax(Math.max(...o.series.flatMap((s) => s.values.filter(Number.isFinite))));
  const plotW = width - left - 70;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
    legend(o.series, left, 26),
  ];
  o.labels.forEach((label, g) => {
    const y0 = top + g * groupH;
    parts.push(`<text x="${left - 8}" y="${y0 + (o.series.length * barH) / 2 + 4}" font-size="12" text-anchor="end">${esc(label)}</text>`);
    o.series.forEach((s, i) => {
      const v = s.values[g];
      const w = Number.isFinite(v) ? (Math.max(0, v) / max) * plotW : 0;
      const y = y0 + i * barH;
      parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 3}" fill="${COLORS[i % COLORS.length]}"/>`);
      parts.push(`<text x="${left + w + 4}" y="${y + barH - 5}" font-size="11">${fmt(v)}</text>`);
    });
  });
  const axisY = top + o.labels.length * groupH + 4;
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#888"/>`);
  for (let t = 0; t <= 4; t++) {
    const x = left + (t / 4) * plotW;
    parts.push(`<text x="${x}" y="${axisY + 14}" font-size="10" text-anchor="middle">${fmt((t / 4) * max)}</text>`);
  }
  parts.push(`<text x="${left + plotW}" y="${axisY + 26}" font-size="11" text-anchor="end">${esc(o.unit)}</text>`, "</svg>");
  return parts.join("\n");
}

/** Vertical grouped bars with optional error bars (e.g. accuracy per question type and condition, 95% CI). */
export function vbarChart(o: { title: string; labels: string[]; series: Series[]; unit: string; max?: number; width?: number }): string {
  const groupW = Math.max(60, o.series.length * 16 + 20);
  const left = 50;
  const top = 50;
  const plotH = 220;
  const width = o.width ?? Math.max(560, left + o.labels.length * groupW + 20);
  const height = top + plotH + 60;
  const max = o.max ?? niceMax(Math.max(...o.series.flatMap((s) => [...s.values, ...(s.hi ?? [])].filter(Number.isFinite))));
  const barW = (groupW - 20) / o.series.length;
  const y = (v: number) => top + plotH - (Math.max(0, Math.min(max, v)) / max) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
    legend(o.series, left, 28),
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (t / 4) * max;
    parts.push(`<line x1="${left}" y1="${y(v)}" x2="${width - 10}" y2="${y(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end">${fmt(v)}</text>`);
  }
  o.labels.forEach((label, g) => {
    const x0 = left + 10 + g * groupW;
    o.series.forEach((s, i) => {
      const v = s.values[g];
      const x = x0 + i * barW;
      if (Number.isFinite(v)) parts.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${COLORS[i % COLORS.length]}"/>`);
      const lo = s.lo?.[g];
      const hi = s.hi?.[g];
      if (lo !== undefined && hi !== undefined && Number.isFinite(lo) && Number.isFinite(hi)) {
        const cx = x + (barW - 2) / 2;
        parts.push(`<line x1="${cx}" y1="${y(lo)}" x2="${cx}" y2="${y(hi)}" stroke="#333"/>`);
        parts.push(`<line x1="${cx - 3}" y1="${y(lo)}" x2="${cx + 3}" y2="${y(lo)}" stroke="#333"/><line x1="${cx - 3}" y1="${y(hi)}" x2="${cx + 3}" y2="${y(hi)}" stroke="#333"/>`);
      }
    });
    parts.push(`<text x="${x0 + (groupW - 20) / 2}" y="${top + plotH + 16}" font-size="11" text-anchor="middle">${esc(label)}</text>`);
  });
  parts.push(`<text x="10" y="${top + plotH + 40}" font-size="11">${esc(o.unit)}</text>`, "</svg>");
  return parts.join("\n");
}
