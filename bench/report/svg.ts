/**
 * Hand-written SVG charts (no chart dependency): the latency distribution of every server as a
 * percentile curve (x: percentile on a log scale of 1/(1-p), as HdrHistogram plots it, so the
 * tail is visible; y: latency in ms), and fan-out throughput as bars.
 */
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface Series {
  name: string;
  /** [latency ms, cumulative fraction] points, ascending. */
  cdf: Array<[number, number]>;
}

export function latencySvg(title: string, series: Series[]): string {
  const W = 760, H = 420, L = 60, R = 170, T = 40, B = 50;
  const pw = W - L - R, ph = H - T - B;
  const maxNines = 4; // up to the 99.99th percentile
  const xOf = (f: number): number => L + (Math.min(maxNines, -Math.log10(Math.max(1 - f, 10 ** -maxNines))) / maxNines) * pw;
  const ymax = niceCeil(Math.max(0.1, ...series.flatMap((s) => s.cdf.filter(([, f]) => f <= 0.9999 || f === 1).map(([ms]) => ms))));
  const yOf = (ms: number): number => T + ph - (Math.min(ms, ymax) / ymax) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (let n = 0; n <= maxNines; n++) {
    const x = L + (n / maxNines) * pw;
    const label = n === 0 ? '0%' : `${(100 - 100 / 10 ** n).toFixed(Math.max(0, n - 2))}%`;
    out.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${T + ph}" stroke="#ddd"/><text x="${x}" y="${T + ph + 18}" text-anchor="middle">${label}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (ymax * i) / 5;
    const y = yOf(v);
    out.push(`<line x1="${L}" y1="${y}" x2="${L + pw}" y2="${y}" stroke="#eee"/><text x="${L - 6}" y="${y + 4}" text-anchor="end">${+v.toFixed(2)}</text>`);
  }
  out.push(`<text x="${L + pw / 2}" y="${H - 10}" text-anchor="middle">percentile</text>`);
  out.push(`<text transform="translate(16 ${T + ph / 2}) rotate(-90)" text-anchor="middle">latency, ms</text>`);
  out.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  series.forEach((s, i) => {
    if (s.cdf.length === 0) return;
    const color = COLORS[i % COLORS.length]!;
    // A step curve: the latency at percentile f is the first bucket whose cumulative fraction reaches f.
    const pts: string[] = [`${xOf(0).toFixed(1)},${yOf(s.cdf[0]![0]).toFixed(1)}`];
    let prevF = 0;
    for (const [ms, f] of s.cdf) {
      pts.push(`${xOf(prevF).toFixed(1)},${yOf(ms).toFixed(1)}`, `${xOf(f).toFixed(1)},${yOf(ms).toFixed(1)}`);
      prevF = f;
      if (f >= 1 - 10 ** -maxNines) break;
    }
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="${i === 0 ? 2.5 : 1.5}" points="${pts.join(' ')}"/>`);
    const ly = T + 14 + i * 18;
    out.push(`<line x1="${L + pw + 12}" y1="${ly - 4}" x2="${L + pw + 32}" y2="${ly - 4}" stroke="${color}" stroke-width="2.5"/><text x="${L + pw + 38}" y="${ly}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function barsSvg(title: string, unit: string, bars: Array<{ name: string; value: number }>): string {
  const W = 760, rowH = 28, L = 170, R = 120, T = 40;
  const H = T + bars.length * rowH + 20;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/><text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  bars.forEach((b, i) => {
    const y = T + i * rowH;
    const w = ((W - L - R) * b.value) / max;
    out.push(`<text x="${L - 8}" y="${y + 17}" text-anchor="end">${esc(b.name)}</text>`);
    out.push(`<rect x="${L}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${L + w + 6}" y="${y + 17}">${esc(formatNumber(b.value))} ${esc(unit)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(0)} k`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(v < 10 ? 2 : 0);
}
