/** One benchmark figure as one JSON line; ratio = value / baseline. */
export interface Figure {
  bench: string;
  case: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  target?: number;
  better: 'lower' | 'higher';
  profiles?: number;
}

export function emit(f: Figure): void {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const out: Record<string, unknown> = { bench: f.bench, case: f.case, metric: f.metric, value: round(f.value), unit: f.unit };
  if (f.baseline !== undefined) {
    out.baseline = round(f.baseline);
    out.ratio = f.baseline === 0 ? null : round(f.value / f.baseline);
  }
  if (f.target !== undefined) out.target = f.target;
  out.better = f.better;
  if (f.profiles !== undefined) out.profiles = f.profiles;
  process.stdout.write(JSON.stringify(out) + '\n');
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Node flags of a benchmark's child process: as `npm start` runs the product (package.json), small V8 semi-spaces. */
export const NODE_FLAGS = ['--max-semi-space-size=8'];
