// Helpers of the local-cluster test: free loopback ports, deploy/local-cluster.sh as a child whose
// output lines can be awaited, and a steady single-image load on POST /predict.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `count` distinct free TCP ports on 127.0.0.1 (all held open until every one is chosen). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => done());
      });
    }
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  }
}

/** One matched line of the cluster's stdout: its index among all lines and the regex's groups. */
export interface LineMatch {
  readonly index: number;
  readonly groups: RegExpMatchArray;
  /** When the line arrived (ms since the epoch). */
  readonly at: number;
}

/** deploy/local-cluster.sh running as a child in its own process group; stdout lines can be awaited. */
export class Cluster {
  readonly lines: string[] = [];
  /** When each line arrived (ms since the epoch). */
  readonly arrivals: number[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(copies: number, port: number, copyPorts: readonly number[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn('bash', ['deploy/local-cluster.sh', String(copies), String(port)], {
      cwd: ROOT,
      env: { ...process.env, NODE: process.execPath, COPY_PORTS: copyPorts.join(','), LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let partial = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
      this.arrivals.push(...parts.map(() => Date.now()));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      // Keep the tail only: it is what explains a failure.
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
    this.exited = new Promise((done) => this.child.once('exit', (code) => {
      for (const wake of this.waiters.splice(0)) wake();
      done(code);
    }));
  }

  /** The script's process id. */
  get pid(): number {
    if (this.child.pid === undefined) throw new Error('local-cluster.sh did not start');
    return this.child.pid;
  }

  /** Whether the script is still running. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first stdout line at or after `from` matching `pattern`, waiting at most `timeoutMs`. */
  async line(pattern: RegExp, from = 0, timeoutMs = 60_000): Promise<LineMatch> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let index = from; index < this.lines.length; index++) {
        const groups = this.lines[index].match(pattern);
        if (groups !== null) return { index, groups, at: this.arrivals[index] };
      }
      if (!this.running) throw new Error(`local-cluster.sh exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}\n${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`local-cluster.sh did not print ${pattern} within ${timeoutMs} ms\n${this.describe()}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  /** Sends `signal` to the script and waits (at most `timeoutMs`) for it to exit; returns its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000): Promise<number | null> {
    if (this.running) process.kill(this.pid, signal);
    const timeout = new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), timeoutMs).unref());
    const result = await Promise.race([this.exited, timeout]);
    if (result === 'timeout') throw new Error(`local-cluster.sh did not stop within ${timeoutMs} ms of ${signal}\n${this.describe()}`);
    return result;
  }

  /** Last resort after a failed test: SIGKILL the script's whole process group (it was started detached). */
  killGroup(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** The output so far, for failure messages. */
  describe(): string {
    return `stdout:\n${this.lines.join('\n')}\nstderr (tail):\n${this.stderr.slice(-4000)}`;
  }
}

/** What one request of the load got. */
export interface Outcome {
  /** When it was sent and when it finished (ms since the epoch). */
  readonly sentAt: number;
  readonly doneAt: number;
  readonly status?: number;
  readonly retryAfter?: string | null;
  /** nginx's X-Upstream: the copies tried, comma-separated, the one that answered last. */
  readonly upstream?: string | null;
  /** The failure (connection error, timeout) when no response came. */
  readonly error?: string;
}

/** A steady single-image POST /predict load: `clients` loops, one request in flight each. */
export class Load {
  readonly outcomes: Outcome[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(url: string, body: string, clients: number, pauseMs: number, timeoutMs: number) {
    this.loops = Array.from({ length: clients }, async () => {
      while (!this.stopped) {
        const sentAt = Date.now();
        try {
          const response = await fetch(`${url}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'text/csv' },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          await response.arrayBuffer();
          this.outcomes.push({
            sentAt,
            doneAt: Date.now(),
            status: response.status,
            retryAfter: response.headers.get('retry-after'),
            upstream: response.headers.get('x-upstream'),
          });
        } catch (error) {
          const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
          this.outcomes.push({ sentAt, doneAt: Date.now(), error: `${error instanceof Error ? error.message : String(error)}${cause}` });
        }
        await new Promise((wake) => setTimeout(wake, pauseMs));
      }
    });
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<Outcome[]> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.outcomes;
  }
}

/** One 28x28 digit-like image (a slanted stroke) as a CSV row of 784 intensities 0-255. */
export function strokeCsv(): string {
  const pixels = new Array<number>(784).fill(0);
  for (let y = 4; y < 24; y++) {
    const x = 14 + Math.round((14 - y) / 5);
    for (let dx = -1; dx <= 1; dx++) pixels[y * 28 + x + dx] = dx === 0 ? 255 : 160;
  }
  return `${pixels.join(',')}\n`;
}

/** The port of the copy that answered, from X-Upstream ("host:port, host:port" after retries). */
export function answeredBy(upstream: string | null | undefined): number | undefined {
  const last = upstream?.split(',').pop()?.trim();
  const port = last?.split(':').pop();
  return port === undefined || port === '' ? undefined : Number(port);
}
