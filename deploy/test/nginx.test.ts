// deploy/nginx/digitlab.conf: the retry rule, the keepalive pool and the limits, held to the
// server's own (body limit, keep-alive timeout), and nginx itself accepts the file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT } from './cluster.ts';

const CONF = resolve(ROOT, 'deploy/nginx/digitlab.conf');
const text = readFileSync(CONF, 'utf8');
/** The directives, comments removed: name -> every value it is given. */
const directives = new Map<string, string[]>();
for (const statement of text.replace(/#.*$/gm, '').split(/[;{}]/)) {
  const [name, ...rest] = statement.trim().split(/\s+/);
  if (name === undefined || name === '') continue;
  directives.set(name, [...(directives.get(name) ?? []), rest.join(' ')]);
}
const one = (name: string): string => {
  const values = directives.get(name) ?? [];
  expect(values, name).toHaveLength(1);
  return values[0];
};
/** nginx sizes and times: "11m" -> bytes, "60s" -> seconds. */
const size = (value: string): number => Number.parseFloat(value) * ({ k: 1024, m: 1024 ** 2 }[value.slice(-1)] ?? 1);
const seconds = (value: string): number => Number.parseFloat(value) * ({ s: 1, m: 60 }[value.slice(-1)] ?? 1);

describe('deploy/nginx/digitlab.conf', () => {
  test('a request that fails on one copy, POSTs included, goes to another, a bounded number of times', () => {
    expect(one('proxy_next_upstream').split(' ').sort()).toEqual(['error', 'http_503', 'non_idempotent', 'timeout']);
    const tries = Number(one('proxy_next_upstream_tries'));
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(tries).toBeLessThanOrEqual(5);
    expect(seconds(one('proxy_next_upstream_timeout'))).toBeGreaterThan(0);
    // A copy that sheds load with 503s is never marked down (which would turn its 503s into 502s).
    const servers = (directives.get('server') ?? []).filter((value) => value !== ''); // '' is the server { } block
    expect(servers.length).toBeGreaterThanOrEqual(2);
    for (const server of servers) expect(server).toMatch(/^\S+:\d+ max_fails=0$/);
  });

  test('upstream keepalive, closed before the server closes its side', () => {
    expect(Number(one('keepalive'))).toBeGreaterThan(0);
    expect(one('proxy_http_version')).toBe('1.1');
    expect(directives.get('proxy_set_header')).toContain('Connection ""');
    // Fastify's keep-alive timeout (72 s) unless the server sets its own.
    const server = readFileSync(resolve(ROOT, 'apps/server/src/app.ts'), 'utf8');
    const serverKeepAlive = Number(server.match(/keepAliveTimeout:\s*([\d_]+)/)?.[1]?.replace(/_/g, '') ?? 72_000) / 1000;
    expect(seconds(one('keepalive_timeout'))).toBeLessThan(serverKeepAlive);
  });

  test("body and time limits match the server's", () => {
    const config = readFileSync(resolve(ROOT, 'apps/server/src/config.ts'), 'utf8');
    const limits = readFileSync(resolve(ROOT, 'packages/digit-csv/src/limits.ts'), 'utf8');
    const product = (source: string, name: string): number => {
      const factors = new RegExp(`${name} = ([\\d_ *]+);`).exec(source)?.[1];
      expect(factors, name).toBeDefined();
      return factors!.split('*').reduce((p, f) => p * Number(f.trim().replace(/_/g, '')), 1);
    };
    const bodyLimit = product(config, 'DEFAULT_JSON_BODY_LIMIT');
    const fileLimit = product(limits, 'DEFAULT_STREAM_MAX_BYTES');
    const fileTimeoutS = product(config, 'DEFAULT_FILE_TIMEOUT_MS') / 1000;
    // [server level: JSON bodies, location = /predict: whole CSV files]
    const [jsonLimit, csvLimit] = (directives.get('client_max_body_size') ?? []).map(size);
    // At least the server's limit (its own 413 names it), with at most 1 MiB for multipart framing.
    expect(jsonLimit).toBeGreaterThanOrEqual(bodyLimit);
    expect(jsonLimit).toBeLessThanOrEqual(bodyLimit + 1024 ** 2);
    expect(csvLimit).toBeGreaterThanOrEqual(fileLimit);
    expect(csvLimit).toBeLessThanOrEqual(fileLimit + 1024 ** 2);
    // A single answer never takes longer than the server's drain bound (deploy/README.md's 30 s);
    // a whole file gets the server's file time limit.
    expect((directives.get('proxy_read_timeout') ?? []).map(seconds)).toEqual([30, fileTimeoutS]);
    expect(seconds(one('proxy_connect_timeout'))).toBeLessThanOrEqual(2);
    // nginx's own errors speak the server's JSON, and "every copy down" says when to retry.
    expect(text).toMatch(/error_page 502 503 504 =503 @unavailable;/);
    expect(text).toMatch(/location @unavailable \{[^}]*add_header Retry-After 1 always;[^}]*return 503 '\{"error":"UNAVAILABLE"/s);
    expect(text).toMatch(/location @too_large \{[^}]*return 413 '\{"error":"BODY_TOO_LARGE"/s);
  });

  test('nginx -t accepts it inside a minimal nginx.conf', (context) => {
    const found = spawnSync('bash', ['deploy/ensure-nginx.sh'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
    if (found.status !== 0) context.skip(`nginx is unavailable: ${found.stderr.trim()}`);
    const dir = mkdtempSync(join(tmpdir(), 'digitlab-nginx-'));
    try {
      writeFileSync(
        join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n  client_body_temp_path ${dir};\n  proxy_temp_path ${dir};\n  include ${CONF};\n}\n`,
      );
      const result = spawnSync(found.stdout.trim(), ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
