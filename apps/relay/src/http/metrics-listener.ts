import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RelayMetrics } from '../core/relay-metrics.js';

export interface MetricsListener {
  readonly port: number;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The Prometheus endpoint on a port of its own, kept off the public port: it answers
 * `GET /metrics` and 404 for everything else. Plain HTTP; meant for the cluster network only.
 */
export async function startMetricsListener(
  metrics: RelayMetrics,
  host: string,
  port: number,
): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text);
      },
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    port: actual,
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${actual}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
