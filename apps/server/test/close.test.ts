// close() on a listening server with the connections a browser leaves behind: one opened without a
// request yet (browsers open spare ones), and a keep-alive one whose NDJSON answer was under way at
// close and finishes after it. Left alone, either holds close() open (the first for as long as the
// client keeps it, the second for the keep-alive timeout): the answer under way must finish whole,
// then the server ends both connections and close() resolves.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadClassifier, type Classifier } from '@digitlab/models';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEIGHTS_DIR, digitsCsv, shipped, startServer, testDigits } from './helpers.js';

/**
 * How long close() may take here: far longer than ending two connections and two in-process models
 * on a busy machine takes, far shorter than what held it open (the 72 s keep-alive timeout, a spare
 * connection's lifetime) and than the 30 s drain bound that ends every connection in the end.
 */
const CLOSE_BOUND_MS = 15_000;

/** A raw client connection that collects what the server sends and notes when the server ends it. */
function client(port: number): { socket: Socket; received: () => string; ended: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const ended = once(socket, 'close').then(() => undefined);
  return { socket, received: () => text, ended };
}

async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 5));
}

function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

describe.runIf(shipped('cnn') && shipped('vit'))('close() with connections a browser leaves open', () => {
  const classifiers: Partial<Record<'cnn' | 'vit', Classifier>> = {};
  beforeAll(async () => {
    classifiers.cnn = await loadClassifier('cnn', { weightsDir: WEIGHTS_DIR });
    classifiers.vit = await loadClassifier('vit', { weightsDir: WEIGHTS_DIR });
  }, 300_000);
  afterAll(() => {
    classifiers.cnn?.close();
    classifiers.vit?.close();
  });

  it('finishes the answer under way, ends a spare connection and the keep-alive one, and resolves', async () => {
    const app: FastifyInstance = await startServer({ classifiers, fileBatch: 1 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const rows = digitsCsv(testDigits(3)).split('\n').filter((row) => row !== '');

    const spare = client(port);
    await once(spare.socket, 'connect');
    // an NDJSON answer to a CSV body sent in two parts: the first line comes back before close()
    // (a batch goes to the models once the reader has seen where its last row ends)
    const streaming = client(port);
    await once(streaming.socket, 'connect');
    streaming.socket.write('POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\nAccept: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n');
    streaming.socket.write(chunk(`${rows[0]}\n${rows[1]}\n`));
    await until(() => streaming.received().includes('"index":0'));
    expect(streaming.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(streaming.received().toLowerCase()).not.toContain('connection: close');

    let closed = false;
    const closing = app.close().then(() => {
      closed = true;
    });
    // the rest of the body after close() began: its line is still answered
    streaming.socket.write(chunk(`${rows[2]}\n`));
    streaming.socket.write('0\r\n\r\n');
    const outcome = await Promise.race([
      closing.then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, CLOSE_BOUND_MS, `still open after ${CLOSE_BOUND_MS} ms`)),
    ]);
    expect(outcome).toBe('closed');
    expect(closed).toBe(true);
    await Promise.all([spare.ended, streaming.ended]);
    const lines = streaming.received().split(/\r?\n/).filter((line) => line.startsWith('{'));
    expect(lines.map((line) => (JSON.parse(line) as { index?: number }).index)).toEqual([0, 1, 2]);
    expect(spare.received()).toBe('');
  }, 300_000);
});
