// Two copies behind nginx (deploy/local-cluster.sh) under a steady single-image load; one copy is
// SIGKILLed mid-run and started again by the script. Every request must get a 200 (or a 503 with
// Retry-After), none may fail or time out, and the restarted copy must serve again once ready.
// Then the other copy is stopped with SIGTERM (it drains) and, last, both are killed at once.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { answeredBy, Cluster, freePorts, Load, ROOT, strokeCsv, type Outcome } from './cluster.ts';

/** Each request's own bound: far above a single-image answer, so only a stuck request reaches it. */
const REQUEST_TIMEOUT_MS = 10_000;
/** A copy loads and warms two models before it listens: ~20 s on 2 cores, over a minute when they are shared. */
const READY_TIMEOUT_MS = 150_000;
/** How long the load runs with both copies up, before the kill and after the restart. */
const STEADY_MS = 3_000;

/** nginx's path, or why there is none (ensure-nginx.sh installs it with apt when root). */
function nginx(): { path: string } | { reason: string } {
  const result = spawnSync('bash', ['deploy/ensure-nginx.sh'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  if (result.status === 0) return { path: result.stdout.trim() };
  return { reason: result.stderr.trim() || `deploy/ensure-nginx.sh exited with ${result.status ?? result.signal}` };
}

/** Whether a process with this id exists (a zombie counts until it is reaped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isOk(outcome: Outcome): boolean {
  return outcome.status === 200 || (outcome.status === 503 && outcome.retryAfter !== null && outcome.retryAfter !== undefined);
}

describe('deploy/local-cluster.sh: 2 copies behind nginx', () => {
  let cluster: Cluster | undefined;
  // After a failure: SIGTERM first, so the script stops its children and removes its directory.
  afterAll(async () => {
    if (cluster === undefined || !cluster.running) return;
    await cluster.stop('SIGTERM', 45_000).catch(() => cluster?.killGroup());
  });

  test('a copy SIGKILLed under load loses no request and serves again once restarted; a SIGTERMed one drains', { timeout: 300_000 }, async (context) => {
    const found = nginx();
    if ('reason' in found) context.skip(`nginx is unavailable: ${found.reason}`);

    const [port, port1, port2] = await freePorts(3);
    const started = Date.now();
    cluster = new Cluster(2, port, [port1, port2]);
    const ready = await cluster.line(/^ready: 2 copies behind nginx on (\S+) \(nginx pid (\d+), logs in (\S+)\)$/, 0, READY_TIMEOUT_MS);
    const [, url, nginxPid, logDir] = ready.groups;
    const copy1 = await cluster.line(/^copy 1: pid (\d+), /);
    const copy2 = await cluster.line(/^copy 2: pid (\d+), /);
    const firstPid = Number(copy1.groups[1]);
    console.log(`cluster ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const load = new Load(url, strokeCsv(), 2, 20, REQUEST_TIMEOUT_MS);
    await new Promise((wake) => setTimeout(wake, STEADY_MS));

    const killedAt = Date.now();
    process.kill(firstPid, 'SIGKILL');
    const exited = await cluster.line(/^copy 1: exited with status (\d+); starting it again/, ready.index);
    expect(exited.groups[1]).toBe('137');
    const restarted = await cluster.line(/^copy 1: pid (\d+), /, exited.index);
    const secondPid = Number(restarted.groups[1]);
    expect(secondPid).not.toBe(firstPid);
    await cluster.line(/^copy 1: ready after/, restarted.index, READY_TIMEOUT_MS);
    const readyAgainAt = Date.now();
    console.log(`copy 1 ready again ${((readyAgainAt - killedAt) / 1000).toFixed(1)} s after the SIGKILL`);

    // The restarted copy answers on its own port...
    const direct = await fetch(`http://127.0.0.1:${port1}/health/ready`);
    expect(direct.status).toBe(200);
    const directPredict = await fetch(`http://127.0.0.1:${port1}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: strokeCsv() });
    expect(directPredict.status).toBe(200);

    await new Promise((wake) => setTimeout(wake, STEADY_MS));
    const outcomes = await load.stop();
    // nginx writes a request's log line just after its answer: give the last ones a moment.
    const readLog = (): string[] => readFileSync(resolve(logDir, 'access.log'), 'utf8').split('\n').filter((line) => line.includes('"POST /predict'));
    for (let tries = 0; tries < 20 && readLog().length < outcomes.length; tries++) await new Promise((wake) => setTimeout(wake, 100));
    const log = readLog();

    const whileDown = outcomes.filter((o) => o.sentAt >= killedAt && o.doneAt <= readyAgainAt);
    // From the kill until the new process started, only copy 2 could answer (a copy listens only
    // once its models are loaded and warm, seconds after it starts).
    const beforeRestart = outcomes.filter((o) => o.sentAt >= killedAt && o.doneAt <= restarted.at);
    const afterRestart = outcomes.filter((o) => o.sentAt > readyAgainAt);
    const failed = outcomes.filter((outcome) => !isOk(outcome));
    console.log(
      JSON.stringify({
        requests: outcomes.length,
        ok200: outcomes.filter((o) => o.status === 200).length,
        retryable503: outcomes.filter((o) => o.status === 503).length,
        failed: failed.length,
        whileDown: whileDown.length,
        beforeRestart: beforeRestart.length,
        afterRestart: afterRestart.length,
        retriedByNginx: log.filter((line) => line.includes(', ')).length,
      }),
    );

    // Every request got an answer it can use: a 200, or a 503 that says when to retry.
    expect(failed, `failed requests: ${JSON.stringify(failed.slice(0, 5))}`).toEqual([]);
    // The load was steady through the outage, not paused by it.
    expect(whileDown.length).toBeGreaterThanOrEqual(20);
    expect(afterRestart.length).toBeGreaterThanOrEqual(10);
    expect(beforeRestart.filter((o) => o.status === 200).every((o) => answeredBy(o.upstream) === port2)).toBe(true);
    // Once ready again, copy 1 serves through nginx too.
    expect(afterRestart.some((o) => answeredBy(o.upstream) === port1)).toBe(true);
    expect(afterRestart.some((o) => answeredBy(o.upstream) === port2)).toBe(true);
    // nginx logged every request, and the ones it tried on the dead copy first went on to copy 2.
    expect(log.length).toBe(outcomes.length);
    // No request ended on nginx's own error (a copy's connection lost with nothing to retry on):
    // the last try of each was answered by a copy.
    const gaveUp = log.filter((line) => !/upstream_status=(?:[\d, ]+, )?(?:200|503) /.test(line));
    expect(gaveUp, gaveUp.slice(0, 5).join('\n')).toEqual([]);
    const retried = log.filter((line) => line.includes(`upstream=127.0.0.1:${port1}, 127.0.0.1:${port2}`));
    expect(retried.length, log.slice(-5).join('\n')).toBeGreaterThan(0);

    // A copy told to stop (SIGTERM) drains: what it has in flight finishes, the rest goes to copy 1.
    const drainFrom = cluster.lines.length;
    const drainLoad = new Load(url, strokeCsv(), 2, 20, REQUEST_TIMEOUT_MS);
    await new Promise((wake) => setTimeout(wake, 500));
    process.kill(Number(copy2.groups[1]), 'SIGTERM');
    const drained = await cluster.line(/^copy 2: exited with status (\d+); starting it again/, drainFrom);
    expect(drained.groups[1]).toBe('0');
    await new Promise((wake) => setTimeout(wake, 1_000));
    const drainOutcomes = await drainLoad.stop();
    const drainFailed = drainOutcomes.filter((outcome) => !isOk(outcome));
    console.log(JSON.stringify({ whileDraining: drainOutcomes.length, ok200: drainOutcomes.filter((o) => o.status === 200).length, failed: drainFailed.length }));
    expect(drainFailed, `failed while copy 2 drained: ${JSON.stringify(drainFailed.slice(0, 5))}`).toEqual([]);
    expect(drainOutcomes.filter((o) => o.sentAt > drained.at && o.status === 200).every((o) => answeredBy(o.upstream) === port1)).toBe(true);
    expect(drainOutcomes.filter((o) => o.sentAt > drained.at).length).toBeGreaterThanOrEqual(5);
    const copy2Again = await cluster.line(/^copy 2: pid (\d+), /, drained.index);

    // With every copy down, nginx answers at once with a 503, Retry-After and the server's error shape.
    const lastReady = cluster.lines.length;
    process.kill(secondPid, 'SIGKILL');
    process.kill(Number(copy2Again.groups[1]), 'SIGKILL');
    await cluster.line(/^copy 1: exited/, lastReady);
    await cluster.line(/^copy 2: exited/, lastReady);
    const askedAt = Date.now();
    const none = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: strokeCsv() });
    expect(none.status).toBe(503);
    expect(none.headers.get('retry-after')).toBe('1');
    expect(await none.json()).toMatchObject({ error: 'UNAVAILABLE', statusCode: 503 });
    expect(Date.now() - askedAt).toBeLessThan(2_000);

    // SIGTERM stops nginx and every copy, the ones being started again included.
    const code = await cluster.stop('SIGTERM');
    expect(code).toBe(143);
    const pids = [Number(nginxPid), ...cluster.lines.flatMap((line) => line.match(/^copy \d+: pid (\d+), /)?.slice(1).map(Number) ?? [])];
    expect(pids.length).toBeGreaterThanOrEqual(4);
    for (const pid of pids) expect(alive(pid), `pid ${pid} still runs`).toBe(false);
    expect(cluster.lines.at(-1)).toBe('stopped: nginx and 2 copies');
  });
});
