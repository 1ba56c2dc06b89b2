import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module.js';
import type { Backends } from './backends/backends.js';
import type { RelayConfig } from './config/config.schema.js';
import { RelayGateway } from './gateway/relay.gateway.js';
import { RelayWsAdapter } from './gateway/relay-ws.adapter.js';
import { createLogger, PinoNestLogger } from './logging/logger.js';
import { createBackends, createReplicaId, RelayCore } from './relay-core.js';
import { serveWebClient } from './web/web-client.js';

export interface RunningRelay {
  readonly core: RelayCore;
  readonly port: number;
  /** `http(s)://host:port` of this replica. */
  readonly url: string;
  /** Graceful drain, then the HTTP server closes. Idempotent. */
  stop(): Promise<void>;
}

/** Starts one replica: HTTP, `/ws`, probes, metrics and the web client on one port. */
export async function startRelay(
  config: RelayConfig,
  options: { backends?: Backends; replicaId?: string } = {},
): Promise<RunningRelay> {
  const replicaId = options.replicaId ?? createReplicaId();
  const logger = createLogger(config.log.level, replicaId);
  const backends = options.backends ?? (await createBackends(config, replicaId, logger));
  const core = new RelayCore(config, replicaId, logger, backends);
  const { tls } = config.server;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forCore(core), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
    ...(tls === undefined
      ? {}
      : { httpsOptions: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } }),
  });
  const gateway = app.get(RelayGateway);
  app.useWebSocketAdapter(
    new RelayWsAdapter(app, core, (socket, frame) => gateway.onFrame(socket, frame)),
  );
  const webRoot = serveWebClient(app, config.server.webRoot, tls !== undefined);
  await app.listen(config.server.port, config.server.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  const host = config.server.host === '0.0.0.0' ? 'localhost' : config.server.host;
  const url = `${tls === undefined ? 'http' : 'https'}://${host}:${port}`;
  logger.info(
    {
      port,
      mode: config.redis.url === undefined ? 'embedded' : 'redis',
      web: webRoot !== undefined,
    },
    'relay listening',
  );
  let stopping: Promise<void> | undefined;
  return {
    core,
    port,
    url,
    stop: () =>
      (stopping ??= (async () => {
        await core.drain();
        await app.close();
      })()),
  };
}
