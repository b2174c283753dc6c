// The Kubernetes manifests parse, fit together (labels, selectors, ports, names) and carry the
// probes, resources and settings deploy/README.md names, sized above the copy's measured needs.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './cluster.ts';
import { measured, readmeRow } from './readme.ts';

const K8S = resolve(ROOT, 'deploy/k8s');

// A manifest is nested maps and lists; the tests walk them with these narrowings.
type Node = Record<string, unknown>;
const map = (value: unknown, what: string): Node => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is not a mapping`);
  return value as Node;
};
const list = (value: unknown, what: string): unknown[] => {
  if (!Array.isArray(value)) throw new Error(`${what} is not a list`);
  return value;
};

/** Every document of every deploy/k8s/*.yaml, parsed (a YAML error fails here). */
function manifests(): Node[] {
  const docs: Node[] = [];
  for (const file of readdirSync(K8S).filter((name) => name.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(K8S, file), 'utf8'))) {
      expect(doc.errors, `${file}: ${doc.errors.join('; ')}`).toEqual([]);
      docs.push(map(doc.toJS(), file));
    }
  }
  return docs;
}

const docs = manifests();
function kind(name: string): Node {
  const found = docs.filter((doc) => doc.kind === name);
  expect(found.map((doc) => doc.kind), `one ${name}`).toEqual([name]);
  return found[0];
}
const deployment = kind('Deployment');
const service = kind('Service');
const hpa = kind('HorizontalPodAutoscaler');
const pdb = kind('PodDisruptionBudget');
const configMap = kind('ConfigMap');
const podTemplate = map(map(deployment.spec, 'spec').template, 'template');
const podSpec = map(podTemplate.spec, 'pod spec');
const container = map(list(podSpec.containers, 'containers')[0], 'container');

/** Kubernetes quantities: "512Mi" -> bytes, "1" / "500m" -> cores. */
function bytes(quantity: unknown): number {
  const match = String(quantity).match(/^(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/);
  if (match === null) throw new Error(`not a memory quantity: ${String(quantity)}`);
  const unit: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, '': 1 };
  return Number(match[1]) * unit[match[2] ?? ''];
}
function cores(quantity: unknown): number {
  const text = String(quantity);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

function probe(name: string): Node {
  return map(container[name], name);
}
function probePath(name: string): string {
  return String(map(probe(name).httpGet, `${name}.httpGet`).path);
}

describe('deploy/k8s', () => {
  test('every object carries the labels the README names, and every selector picks exactly the pods', () => {
    const labels = Object.fromEntries(readmeRow('labels').map((pair) => pair.split(': ')));
    expect(Object.keys(labels).length).toBeGreaterThanOrEqual(2);
    for (const doc of docs.filter((d) => d.kind !== 'Kustomization')) {
      expect(map(doc.metadata, 'metadata').labels, `${String(doc.kind)} labels`).toMatchObject(labels);
    }
    expect(map(podTemplate.metadata, 'template metadata').labels).toMatchObject(labels);
    expect(map(map(deployment.spec, 'spec').selector, 'selector').matchLabels).toEqual(labels);
    expect(map(service.spec, 'service spec').selector).toEqual(labels);
    expect(map(map(pdb.spec, 'pdb spec').selector, 'pdb selector').matchLabels).toEqual(labels);
  });

  test('the kustomization lists every manifest', () => {
    const kustomization = kind('Kustomization');
    const files = readdirSync(K8S).filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml');
    expect([...list(kustomization.resources, 'resources')].sort()).toEqual(files.sort());
  });

  test('probes: readiness on /health/ready, liveness and a start-up window long enough for warm-up', () => {
    expect(probePath('readinessProbe')).toBe(readmeRow('readiness probe')[0]);
    expect(probePath('livenessProbe')).toBe(readmeRow('liveness probe')[0]);
    const [startupPath, startupSeconds] = readmeRow('startup probe');
    expect(probePath('startupProbe')).toBe(startupPath);
    const startup = probe('startupProbe');
    const window = Number(startup.periodSeconds) * Number(startup.failureThreshold);
    expect(window).toBe(Number(startupSeconds));
    // Several times the measured start-up, so a copy on a slow or busy node is not killed warming up.
    expect(window).toBeGreaterThanOrEqual(4 * measured('start to /health/ready'));
    // The routes the probes call exist on the server.
    const routes = readFileSync(resolve(ROOT, 'apps/server/src/routes/info.ts'), 'utf8');
    for (const path of [probePath('readinessProbe'), probePath('livenessProbe'), startupPath]) expect(routes).toContain(`'${path}'`);
    // the probes go to the probe listener (HEALTH_PORT), which answers on a thread the load never holds up
    for (const name of ['readinessProbe', 'livenessProbe', 'startupProbe']) expect(map(probe(name).httpGet, name).port).toBe('health');
  });

  test('resources: the README values, above what one copy was measured to use', () => {
    const resources = map(container.resources, 'resources');
    const requests = map(resources.requests, 'requests');
    const limits = map(resources.limits, 'limits');
    const [cpuRequest, cpuLimit] = readmeRow('CPU request / limit');
    const [memoryRequest, memoryLimit] = readmeRow('memory request / limit');
    expect([String(requests.cpu), String(limits.cpu)]).toEqual([cpuRequest, cpuLimit]);
    expect([String(requests.memory), String(limits.memory)]).toEqual([memoryRequest, memoryLimit]);
    expect(cores(limits.cpu)).toBeGreaterThanOrEqual(cores(requests.cpu));
    expect(bytes(limits.memory)).toBeGreaterThanOrEqual(bytes(requests.memory));
    // The limit holds a MAX_IMAGES request's peak; the request holds the copy under steady load.
    expect(bytes(limits.memory)).toBeGreaterThan(measured('peak RSS (VmHWM)') * 1024 ** 2);
    expect(bytes(requests.memory)).toBeGreaterThan(measured('RSS after that load') * 1024 ** 2);
  });

  test('termination: the grace period covers preStop plus the whole drain', () => {
    const grace = Number(podSpec.terminationGracePeriodSeconds);
    expect(grace).toBe(Number(readmeRow('termination grace')[0]));
    const preStop = list(map(map(map(container.lifecycle, 'lifecycle').preStop, 'preStop').exec, 'exec').command, 'command');
    expect(preStop[0]).toBe('sleep');
    const drain = Number(readmeRow('drain bound')[0]);
    expect(grace).toBeGreaterThan(Number(preStop[1]) + drain);
    // A rolling update never has fewer ready copies than asked for while a new one warms up.
    expect(map(map(deployment.spec, 'spec').strategy, 'strategy').rollingUpdate).toMatchObject({ maxUnavailable: 0 });
  });

  test('settings come from the ConfigMap, and every key is one the server reads', () => {
    const envFrom = list(container.envFrom, 'envFrom').map((entry) => map(map(entry, 'envFrom').configMapRef, 'configMapRef').name);
    expect(envFrom).toEqual([map(configMap.metadata, 'metadata').name]);
    const serverSource = readdirSync(resolve(ROOT, 'apps/server/src'), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFileSync(resolve(ROOT, 'apps/server/src', file), 'utf8'))
      .join('\n');
    const data = map(configMap.data, 'data');
    for (const key of Object.keys(data)) {
      expect(serverSource.includes(`env.${key}`) || serverSource.includes(`'${key}'`), `the server reads ${key}`).toBe(true);
      expect(typeof data[key], `${key} is a string`).toBe('string');
    }
    const port = Number(data.PORT);
    const containerPort = map(list(container.ports, 'ports')[0], 'port');
    expect(containerPort).toMatchObject({ name: 'http', containerPort: port });
    expect(map(list(container.ports, 'ports')[1], 'health port')).toMatchObject({ name: 'health', containerPort: Number(data.HEALTH_PORT) });
    expect(map(list(map(service.spec, 'spec').ports, 'ports')[0], 'service port').targetPort).toBe('http');
  });

  test('replicas, autoscaling and the disruption budget', () => {
    const [replicas] = readmeRow('replicas');
    expect(map(deployment.spec, 'spec').replicas).toBe(Number(replicas));
    const [min, max, utilization] = readmeRow('autoscaling');
    const spec = map(hpa.spec, 'hpa spec');
    expect(spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: map(deployment.metadata, 'metadata').name });
    expect([spec.minReplicas, spec.maxReplicas]).toEqual([Number(min), Number(max)]);
    const metric = map(map(list(spec.metrics, 'metrics')[0], 'metric').resource, 'resource');
    expect(metric).toEqual({ name: 'cpu', target: { type: 'Utilization', averageUtilization: Number(utilization) } });
    // HPA utilization is a share of the CPU request, so the container must request CPU.
    expect(cores(map(map(container.resources, 'resources').requests, 'requests').cpu)).toBeGreaterThan(0);
    const [budget] = readmeRow('disruption budget');
    const [field, value] = budget.split(': ');
    expect(map(pdb.spec, 'pdb spec')[field]).toBe(Number(value));
    expect(Number(value)).toBeLessThan(Number(min));
  });

  test('metrics: the pods carry the scrape annotations the README names, on the container port', () => {
    const annotations = map(map(podTemplate.metadata, 'metadata').annotations, 'annotations');
    const named = Object.fromEntries(readmeRow('metrics').map((pair) => pair.split(': ').map((part) => part.replace(/^"|"$/g, ''))));
    expect(annotations).toMatchObject(named);
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(Number(annotations['prometheus.io/port'])).toBe(map(list(container.ports, 'ports')[0], 'port').containerPort);
  });

  test('the pods run as a non-root user, as the image does', () => {
    expect(map(podSpec.securityContext, 'securityContext')).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const dockerfile = readFileSync(resolve(ROOT, 'deploy/Dockerfile'), 'utf8');
    // The node image's "node" user is uid 1000.
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
