/** MNIST from the server's data endpoint: the four IDX files, fetched (HTTP-cached) and parsed as the CLI parses them. */
import { MNIST_FILES, type MnistData, type MnistSplit, mnistFromIdx } from '@digitlab/models';

async function fetchBytes(base: string, file: string): Promise<Uint8Array> {
  const url = new URL(file, base);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load ${url}: HTTP ${res.status}${res.status === 404 ? ' (is this the digitlab server?)' : ''}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** One split from `base` (e.g. "https://host/data/mnist/"), pixels in [0, 1]. */
export async function fetchMnist(base: string, split: MnistSplit): Promise<MnistData> {
  const files = MNIST_FILES[split];
  const [images, labels] = await Promise.all([fetchBytes(base, files.images), fetchBytes(base, files.labels)]);
  return mnistFromIdx(split, images, labels, new URL(files.images, base).href, new URL(files.labels, base).href);
}
