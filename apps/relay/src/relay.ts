import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module.js';
import type { Backends } from './cluster/backends.js';
import type { AddressBudgets } from './core/budgets/address-budgets.js';
import type { RelayConfig } from './config/config.schema.js';
import { AcceptGuard } from './transport/ws/accept-guard.js';
import { RelayGateway } from './transport/ws/relay.gateway.js';
import { RelayWsAdapter } from './transport/ws/relay-ws.adapter.js';
import { createLogger } from './logging/logger.js';
import { PinoNestLogger } from './nest-logger.js';
import { startMetricsListener } from './http/metrics-listener.js';
import { createBackends, createBudgets } from './cluster/backends.js';
import { createReplicaId, RelayCore } from './core/relay-core.js';
import type { SelfSignedCertificate } from './http/self-signed.js';
import { certificateNames, makeSelfSignedCertificate } from './http/self-signed.js';
import { pageConfig, serveWebClient } from './http/web-client.js';

export interface RunningRelay {
  readonly core: RelayCore;
  readonly port: number;
  /** `http(s)://host:port` of this replica. */
  readonly url: string;
  /** `http://host:port/metrics`: the Prometheus endpoint (on its own port unless configured). */
  readonly metricsUrl: string;
  /** The certificate made at start, with `HUSH_TLS=self-signed`. */
  readonly selfSigned: SelfSignedCertificate | undefined;
  /** Graceful drain, then the HTTP server closes. Idempotent. */
  stop(): Promise<void>;
}

/** Starts one replica: HTTP, `/ws`, probes, metrics and the web client on one port. */
export async function startRelay(
  config: RelayConfig,
  options: { backends?: Backends; budgets?: AddressBudgets; replicaId?: string } = {},
): Promise<RunningRelay> {
  const replicaId = options.replicaId ?? createReplicaId();
  const logger = createLogger(config.log.level, replicaId);
  const backends = options.backends ?? (await createBackends(config, replicaId, logger));
  const budgets = options.budgets ?? (await createBudgets(config, replicaId, logger));
  const core = new RelayCore(config, replicaId, logger, backends, budgets);
  const { tls } = config.server;
  const selfSigned =
    config.server.tlsMode === 'self-signed'
      ? await makeSelfSignedCertificate(certificateNames(config.server.publicUrl))
      : undefined;
  const httpsOptions =
    selfSigned !== undefined
      ? { cert: selfSigned.cert, key: selfSigned.key }
      : tls !== undefined
        ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }
        : undefined;
  // Metrics share the main port only when configured to (same, fixed port number).
  const metricsOnMainPort = config.metrics.port === config.server.port && config.server.port !== 0;
  const module = AppModule.forCore(core, { metrics: metricsOnMainPort });
  const app = await NestFactory.create<NestExpressApplication>(module, {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
    ...(httpsOptions === undefined ? {} : { httpsOptions }),
  });
  const gateway = app.get(RelayGateway);
  const guard = new AcceptGuard(core.admission, config.server.headerTimeoutMs);
  gateway.useGuard(guard);
  app.useWebSocketAdapter(new RelayWsAdapter(app, config, logger, gateway));
  // A certificate nobody vouches for is no ground for pinning HTTPS in browsers (HSTS).
  const webRoot = serveWebClient(app, {
    webRoot: config.server.webRoot,
    hsts: tls !== undefined,
    page: pageConfig(config),
  });
  guard.attach(app.getHttpServer());
  await app.listen(config.server.port, config.server.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  const host = config.server.host === '0.0.0.0' ? 'localhost' : config.server.host;
  const url = `${httpsOptions === undefined ? 'http' : 'https'}://${host}:${port}`;
  const metrics = metricsOnMainPort
    ? undefined
    : await startMetricsListener(
        core.metrics,
        config.metrics.host ?? config.server.host,
        config.metrics.port,
      );
  const metricsUrl = metrics === undefined ? `${url}/metrics` : metrics.url;
  logger.info(
    {
      port,
      mode: config.redis.url === undefined ? 'embedded' : 'redis',
      web: webRoot !== undefined,
      metricsPort: metrics?.port ?? port,
    },
    'relay listening',
  );
  if (selfSigned !== undefined) {
    // People compare this with what their browser shows before accepting the certificate.
    logger.info(
      { sha256: selfSigned.fingerprint256, names: selfSigned.names.length },
      `self-signed TLS certificate made at start, SHA-256 fingerprint ${selfSigned.fingerprint256}`,
    );
  }
  let stopping: Promise<void> | undefined;
  return {
    core,
    port,
    url,
    metricsUrl,
    selfSigned,
    stop: () =>
      (stopping ??= (async () => {
        await core.drain();
        await Promise.all([app.close(), metrics?.close()]);
      })()),
  };
}
