/**
 * Debian's headless Chromium under playwright-core, with the flags that give it WebGL2 and a WebGPU
 * adapter on a machine without a GPU (both on SwiftShader, Chromium's software Vulkan), and the
 * benchmark page open.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPU_ARGS, QUIET_ARGS } from '@digitlab/element/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Tried here (Chromium 156, Debian 12, no GPU): WebGL2 runs on ANGLE over SwiftShader with no flag
 * at all; WebGPU needs only --enable-unsafe-webgpu (and a secure context) to get SwiftShader's
 * fallback adapter. --enable-features=Vulkan, --use-angle=swiftshader and
 * --use-webgpu-adapter=swiftshader changed nothing; --enable-webgpu-developer-features makes the
 * adapter tell its name ("SwiftShader Device (Subzero)").
 */
export const GPU_FLAGS: readonly string[] = GPU_ARGS;


/** Every flag the benchmark's Chromium runs with. */
export const CHROMIUM_FLAGS: readonly string[] = [...QUIET_ARGS, ...GPU_FLAGS];

/** Parent pid of a process, from /proc (Linux); null when it is gone or unreadable. */
function parentOf(pid: number): number | null {
  try {
    // the command name in field 2 may hold spaces and parentheses: fields after the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * Gives every thread of every process descended from this one (Chromium's browser, GPU and
 * renderer processes) this process's own niceness. Chromium, run as root, raises its browser and
 * GPU processes to nice -8 whatever it inherited, so `nice -n 19 pnpm bench:browser` would
 * otherwise still run SwiftShader's rendering threads ahead of other work on the machine.
 * Niceness is per thread on Linux, hence every task of every process. Linux only; a no-op elsewhere.
 */
export function matchNiceness(): void {
  let procs: string[];
  try {
    procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return;
  }
  const mine = getPriority();
  const isOurs = (pid: number): boolean => {
    for (let p: number | null = pid, hops = 0; p !== null && p > 1 && hops < 16; p = parentOf(p), hops++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  for (const d of procs) {
    const pid = Number(d);
    if (pid === process.pid || !isOurs(pid)) continue;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        if (getPriority(Number(t)) !== mine) setPriority(Number(t), mine);
      } catch {
        // the thread ended meanwhile
      }
    }
  }
}

/** An open benchmark page and how to close its browser. */
export interface BenchPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Lines the page logged at warning or error level, and its uncaught errors, since the last drain. */
  drainConsole(): string[];
  close(): Promise<void>;
}

/** True when Debian's chromium is installed where the benchmark expects it. */
export function chromiumPresent(): boolean {
  return existsSync(CHROMIUM);
}

/** Launches Chromium (fresh profile), opens url and waits until the bundle has installed its API. */
export async function openBenchPage(url: string): Promise<BenchPage> {
  if (!chromiumPresent()) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/setup.sh does it)`);
  const profile = mkdtempSync(join(tmpdir(), 'digitlab-bench-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS] });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  matchNiceness();
  const page = context.pages()[0] ?? (await context.newPage());
  let lines: string[] = [];
  page.on('console', (m) => {
    // ANGLE's "GPU stall due to ReadPixels" comes with every GL readback: noise, not a finding
    if ((m.type() === 'warning' || m.type() === 'error') && !m.text().includes('GPU stall due to ReadPixels')) lines.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  const close = async (): Promise<void> => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.digitlabBench !== undefined, null, { timeout: 30_000 });
  } catch (e) {
    const why = lines.join('; ');
    await close();
    throw new Error(`the benchmark page did not start: ${(e as Error).message}${why ? ` (${why})` : ''}`);
  }
  return {
    page,
    context,
    drainConsole() {
      const l = lines;
      lines = [];
      return l;
    },
    close,
  };
}
