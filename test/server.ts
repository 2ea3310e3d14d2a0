// The real server as a child process on a data folder of the test's: `kartoteka serve` on a free
// port, resolved once it prints its address (and whatever else `ready` waits for in its output).
import { spawn, type ChildProcess } from 'node:child_process';

export async function startServer(opts: {
  dataDir: string;
  args?: string[];
  env?: Record<string, string>;
  /** Extra output to wait for; the value becomes `found`. */
  ready?: RegExp;
  /** Flags for node itself (the benchmarks run the server as `npm start` does). */
  nodeFlags?: string[];
}): Promise<{ child: ChildProcess; url: string; found: string | undefined; output: () => string }> {
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), 'src/cli.ts', 'serve', ...(opts.args ?? [])], {
    env: { ...process.env, DATABASE_URL: '', KARTOTEKA_DATA_DIR: opts.dataDir, PORT: '0', HOST: '127.0.0.1', KARTOTEKA_LOG_LEVEL: 'silent', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 90_000);
    child.stdout!.on('data', (d) => {
      log += d;
      const url = /Listening on (http:\/\/\S+)/.exec(log)?.[1];
      const found = opts.ready ? opts.ready.exec(log)?.[1] : undefined;
      if (url && (!opts.ready || found !== undefined)) {
        clearTimeout(timer);
        resolve({ child, url: url.replace('localhost', '127.0.0.1'), found, output: () => log });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
}
