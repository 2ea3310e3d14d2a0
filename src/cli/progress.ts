// A dependency-free progress bar for long CLI work; plain lines when not a TTY.
export interface Progress {
  /** `total`: a new estimate of the whole (an import learns it as it reads). */
  update(done: number, total?: number): void;
  done(): void;
}

export function progressBar(label: string, initialTotal: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const t0 = Date.now();
  let total = initialTotal;
  let last = 0;
  const render = (done: number, final = false) => {
    const now = Date.now();
    if (!final && now - last < 200) return;
    last = now;
    const secs = (now - t0) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const eta = rate > 0 && total > done ? `${Math.ceil((total - done) / rate)} s` : '0 s';
    const width = 30;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const line = `${label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} ${Math.round(rate)}/s ETA ${eta}`;
    if (stream.isTTY) stream.write(`\r${line}${final ? '\n' : ''}`);
    else if (final || Math.floor(frac * 10) !== Math.floor(((done - 1) / Math.max(total, 1)) * 10)) stream.write(line + '\n');
  };
  return {
    update: (d, t) => {
      if (t !== undefined) total = t;
      render(d);
    },
    done: () => render(total, true),
  };
}
