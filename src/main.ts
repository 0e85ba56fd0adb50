/**
 * Entry point and the only composition root that reads `process.env`: config → gateway → listen →
 * graceful shutdown on SIGTERM/SIGINT.
 *
 * Usage: `npm start` or `node --import tsx src/main.ts [--config gateway.yaml]` (or GATEWAY_CONFIG).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import { createGateway } from './gateway.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string', short: 'c' } },
    allowPositionals: true,
  });
  const env = process.env;
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ env, file: values.config ?? env.GATEWAY_CONFIG });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  const gateway = await createGateway({ config, env });
  const { logger } = gateway;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { event: 'shutdown.start', signal, grace_ms: config.server.shutdown_grace_ms },
      'shutting down',
    );
    logger.flush();
    gateway
      .close()
      .then(() => {
        logger.info({ event: 'shutdown.done' }, 'stopped');
        exitAfterFlush(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exitAfterFlush(1);
      });
  };
  // Exit only once the log batch is written: process.exit() during an asynchronous write loses or
  // reorders the last lines (shutdown.start, shutdown.done). Bounded, in case stdout is stuck.
  const exitAfterFlush = (code: number) => {
    setTimeout(() => process.exit(code), 2000).unref();
    logger.flush(() => process.exit(code));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const address = await gateway.app.listen({ host: config.server.host, port: config.server.port });
  logger.info({ event: 'gateway.ready', address }, `LLM Gateway listening on ${address}`);
  logger.flush();
}

main().catch((err: unknown) => {
  process.stderr.write(`LLM Gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
