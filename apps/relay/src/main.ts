#!/usr/bin/env node
import { ConfigError, loadConfig } from './config/load-config.js';
import { startRelay } from './relay.js';

/** `hush-relay [--config file.yaml]`: one replica, configured from the environment and YAML. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`hush-relay: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const relay = await startRelay(config);
  // Containers collect stdout as JSON lines; a person at a terminal also gets one readable line.
  if (process.stdout.isTTY) {
    process.stdout.write(
      `Hush relay on ${relay.url}  (WebSocket ${relay.url.replace(/^http/, 'ws')}/ws)\n`,
    );
  }
  const stop = (signal: NodeJS.Signals) => {
    relay.core.logger.info({ signal }, 'shutting down');
    relay.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        relay.core.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('unhandledRejection', (reason) => {
    relay.core.logger.error({ err: reason }, 'unhandled rejection');
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `hush-relay: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
