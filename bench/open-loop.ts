// An open-loop HTTP load generator: requests arrive as a Poisson process at a given mean rate (each
// gap drawn from the exponential distribution), independent of how fast the server answers, and
// are sent over a fixed pool of keep-alive connections. A request that finds every connection busy
// waits for one, and its latency counts from its arrival, not from when it could be sent, so a slow
// server is charged for the queue it causes (no coordinated omission).
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface OpenLoopOptions {
  /** Full URL of the endpoint. */
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Mean arrivals per second. */
  readonly rate: number;
  readonly seconds: number;
  /** Most requests in flight at once (keep-alive connections). */
  readonly connections: number;
  /** A request unanswered this long is aborted and counted as a timeout. */
  readonly timeoutMs: number;
  /** Seen for every answer: its status and headers. */
  readonly onResponse?: (status: number, headers: IncomingHttpHeaders) => void;
  /** Draws in [0, 1); Math.random unless given (a fixed sequence makes runs comparable). */
  readonly random?: () => number;
}

export interface OpenLoopResult {
  /** Wall seconds from the first arrival to the last answer. */
  readonly seconds: number;
  readonly arrivals: number;
  /** Milliseconds from each answered request's arrival to the end of its answer. */
  readonly latencies: number[];
  /** Answers by status code. */
  readonly status: Record<string, number>;
  readonly timeouts: number;
  /** Requests that failed on the socket (reset, refused), timeouts apart. */
  readonly errors: number;
  /** Largest delay between an arrival's time and when the generator got round to issuing it (its own event loop's lag). */
  readonly maxIssueLagMs: number;
}

/** Deterministic uniform draws in [0, 1) (mulberry32), for runs that offer the same arrivals. */
export function uniformSequence(start: number): () => number {
  let a = start >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Offers `rate` requests per second, Poisson arrivals, for `seconds`; resolves once every request is answered or failed. */
export function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const random = options.random ?? Math.random;
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers = { ...options.headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) };
  const latencies: number[] = [];
  const status: Record<string, number> = {};
  let timeouts = 0;
  let errors = 0;
  let arrivals = 0;
  let outstanding = 0;
  let maxIssueLagMs = 0;
  const durationMs = options.seconds * 1000;
  const gap = (): number => (-Math.log(1 - random()) / options.rate) * 1000;

  return new Promise((resolve) => {
    const t0 = performance.now();
    let next = gap();
    let scheduling = true;
    let lastDone = t0;
    const finish = (): void => {
      if (scheduling || outstanding > 0) return;
      agent.destroy();
      resolve({ seconds: (lastDone - t0) / 1000, arrivals, latencies, status, timeouts, errors, maxIssueLagMs });
    };
    const send = (arrival: number): void => {
      arrivals++;
      outstanding++;
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        outstanding--;
        lastDone = performance.now();
        finish();
      };
      const req = httpRequest({ agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: options.method, headers }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          latencies.push(performance.now() - arrival);
          const code = String(res.statusCode ?? 0);
          status[code] = (status[code] ?? 0) + 1;
          options.onResponse?.(res.statusCode ?? 0, res.headers);
          settle();
        });
        res.on('error', () => {
          errors++;
          settle();
        });
      });
      // the timeout counts from the arrival: a request still waiting for a connection is as late
      const timer = setTimeout(() => {
        if (settled) return;
        timeouts++;
        req.destroy();
        settle();
      }, Math.max(1, options.timeoutMs - (performance.now() - arrival)));
      req.on('close', () => clearTimeout(timer));
      req.on('error', () => {
        if (settled) return;
        errors++;
        settle();
      });
      req.end(body);
    };
    const tick = (): void => {
      const now = performance.now() - t0;
      while (next <= now && next < durationMs) {
        maxIssueLagMs = Math.max(maxIssueLagMs, now - next);
        send(t0 + next);
        next += gap();
      }
      if (next >= durationMs) {
        scheduling = false;
        finish();
        return;
      }
      // timers fire late rather than early; waking a little before the next arrival keeps the lag small
      setTimeout(tick, Math.max(0, next - now - 1));
    };
    tick();
  });
}
