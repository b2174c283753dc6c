/**
 * Serves the benchmark page and its bundle on loopback. Over http://127.0.0.1 the page is a secure
 * context (WebGPU is exposed only there, not on about:blank), and the cross-origin isolation headers
 * give performance.now() 5 µs resolution instead of 100 µs (and define SharedArrayBuffer).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle } from './bundle.js';

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>digitlab kernels in the browser</title>
<script type="module" src="/bench.js"></script>
<p>digitlab kernel benchmark: driven by bench/browser/run.ts</p>
`;

/** A running page server. */
export interface PageServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts serving `/` (the page) and `/bench.js` (the bundle) on a free loopback port. */
export async function servePage(bundle: Bundle): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cache-Control', 'no-store');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(PAGE);
    } else if (path === '/bench.js') {
      res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
      res.end(bundle.code);
    } else if (path === '/favicon.ico') {
      // the browser asks on its own; a 404 would show up as a page error
      res.statusCode = 204;
      res.end();
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
