/**
 * Entry point and the only composition root that reads `process.env`: config → gateway → listen →
 * graceful shutdown on SIGTERM/SIGINT.
 *
 * Usage (also as the `llm-gateway` command):
 *   llm-gateway [start] [--config gateway.yaml]     run the gateway (GATEWAY_CONFIG works too)
 *   llm-gateway start --workers N                   N worker processes sharing the port (WORKERS=N too)
 *   llm-gateway check-config [--config gateway.yaml] validate the configuration and show what it offers
 *   llm-gateway migrate [--config gateway.yaml]      run the database migrations and exit
 *   llm-gateway keys create|list|revoke|rotate …     manage API keys (src/cli/keys.ts)
 *   llm-gateway orgs|teams create|list|get|update|delete …   organizations and teams (src/cli/tenancy.ts)
 *   llm-gateway eval run|compare …                  evaluate models and prompts on a dataset (src/cli/eval.ts)
 *   llm-gateway demo                                 the gateway with a simulated upstream (src/demo/run.ts)
 *   llm-gateway spend rebuild-rollups|maintain …     spend rollups and partitions (src/cli/spend.ts)
 *   llm-gateway prompts list|show|create|…            manage prompts (src/cli/prompts.ts)
 */
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { Migrator } from 'kysely';
import { Agent } from 'undici';
import { openCliDatabase } from './cli/database.js';
import { EVAL_USAGE, runEvalCommand } from './cli/eval.js';
import { KEYS_USAGE, runKeysCommand, UsageError } from './cli/keys.js';
import { PROMPTS_USAGE, runPromptsCommand } from './cli/prompts.js';
import { runSpendCommand, SPEND_USAGE } from './cli/spend.js';
import { runTenancyCommand, TENANCY_USAGE } from './cli/tenancy.js';
import { openBindWarning } from './config/bind.js';
import { ConfigError, loadConfig } from './config/load.js';
import { systemClock } from './core/clock.js';
import { startDemo } from './demo/run.js';
import { warmCodecs } from './endpoints/warm-up.js';
import { createGateway } from './gateway.js';
import { warmUpHttpClient } from './providers/http-warmup.js';
import { ProviderRegistry } from './providers/registry.js';
import { ModelResolver } from './routing/resolver.js';
import { lowerHelperThreads } from './server/thread-priority.js';
import { applyHeapGrowing, applyPretenuring, collectGarbage } from './server/v8-heap.js';
import { parseWorkers, runPrimary, workersProblem } from './server/workers.js';
import { migrationProvider } from './stores/migrations/index.js';

/** A mistyped option or argument (node:util parseArgs' own errors included): exit 2, as for an unknown command. */
function isUsageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'));
}

/** node's parseArgs adds a hint about `--` that only confuses a mistyped flag: its first sentence is enough. */
function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return isUsageError(err) ? text.replace(/\. To specify a positional argument[\s\S]*$/, '.') : text;
}

function usageExit(message: string, usage: string): never {
  process.stderr.write(`llm-gateway: ${message}\n${usage}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        workers: { type: 'string', short: 'w' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: !['keys', 'orgs', 'teams', 'eval', 'spend', 'prompts'].includes(process.argv[2] ?? ''),
    });
  } catch (err) {
    return usageExit(errorText(err), USAGE);
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? 'start';
  if (command === 'eval') return runEval();
  const commands = ['start', 'check-config', 'keys', 'orgs', 'teams', 'migrate', 'demo', 'spend', 'prompts'];
  // The commands without subcommands take no arguments: `start 8080` or `migrate now` is a mistake.
  if (['start', 'check-config', 'migrate', 'demo'].includes(command) && positionals.length > 1) {
    return usageExit(`unexpected argument "${positionals[1]}" after ${command}`, USAGE);
  }
  if (values.help || !commands.includes(command)) {
    const tenancy = command === 'orgs' || command === 'teams';
    const usage = { spend: SPEND_USAGE, prompts: PROMPTS_USAGE, keys: KEYS_USAGE }[command];
    process.stdout.write(usage ?? (tenancy ? TENANCY_USAGE : USAGE));
    process.exit(values.help ? 0 : 2);
  }
  const env = process.env;
  if (command === 'demo') return runDemo(env);
  const file = (values.config as string | undefined) ?? env.GATEWAY_CONFIG;
  // The worker count is configuration of `start` (and so of check-config): a bad one is listed with the
  // file's and the environment's problems, not only once they are fixed.
  const parsedWorkers =
    command === 'start' || command === 'check-config'
      ? parseWorkers((values.workers as string | undefined) ?? env.WORKERS)
      : 1;
  let problems = typeof parsedWorkers === 'string' ? [parsedWorkers] : [];
  let config: ReturnType<typeof loadConfig> | undefined;
  try {
    config = loadConfig({ env, file });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = [...err.problems, ...problems];
  }
  if (config === undefined || problems.length > 0) {
    process.stderr.write(`${new ConfigError(problems, file).message}\n`);
    process.exit(1);
  }
  const workers = typeof parsedWorkers === 'number' ? parsedWorkers : 1; // a bad value exited above

  if (command === 'check-config') return checkConfig(config, env);
  if (command === 'migrate') return runMigrations(config);
  // The admin subcommands: each prints its usage on a usage error (exit 2), other errors exit 1.
  const args = process.argv.slice(3);
  const out = { out: (text: string) => process.stdout.write(text) };
  const subcommands: Record<string, [run: () => Promise<number>, usage: string]> = {
    keys: [() => runKeysCommand(args, config, out, systemClock), KEYS_USAGE],
    orgs: [() => runTenancyCommand('org', args, config, out, systemClock), TENANCY_USAGE],
    teams: [() => runTenancyCommand('team', args, config, out, systemClock), TENANCY_USAGE],
    spend: [() => runSpendCommand(args, config, out), SPEND_USAGE],
    prompts: [() => runPromptsCommand(args, config, out), PROMPTS_USAGE],
  };
  const subcommand = subcommands[command];
  if (subcommand) {
    const [run, usage] = subcommand;
    const code = await run().catch((err: unknown) => {
      process.stderr.write(`${errorText(err)}\n`);
      if (isUsageError(err)) process.stderr.write(usage);
      return isUsageError(err) ? 2 : 1;
    });
    process.exit(code);
  }

  const problem = workersProblem(workers, config);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  // The primary only supervises: it forks the workers (each runs this file and serves on the shared port).
  if (workers > 1 && cluster.isPrimary) return runPrimary(workers, config, systemClock);
  // Before the gateway allocates anything: the serving process's heap growing factor (decision 0157) and
  // no allocation-site pretenuring (decision 0187).
  applyHeapGrowing(config.server.heap_growing_percent);
  applyPretenuring(config.server.v8_pretenuring);
  // Helper threads yield the core to the event loop (decision 0186); looked at again for later threads.
  const helpers = lowerHelperThreads({
    nice: config.server.background_threads_nice,
    rescanMs: HELPER_RESCAN_MS,
  });

  // A signal while starting (a database that does not answer yet holds the start for seconds) would kill the
  // process mid-migration: it is remembered, and the gateway stops cleanly once its parts are up.
  let signalledDuringStart: string | undefined;
  const remember = (signal: string) => {
    signalledDuringStart ??= signal;
  };
  process.on('SIGTERM', remember).on('SIGINT', remember);
  // A worker's /metrics is the whole instance's, merged by the primary over the IPC channel (decision 0224).
  const clusterChannel = cluster.isWorker
    ? { send: (message: unknown) => process.send?.(message), on: process.on.bind(process) }
    : undefined;
  const gateway = await createGateway({ config, env, clock: systemClock, clusterChannel });
  const { logger } = gateway;
  // The upstream client's first-use costs, paid before the port opens (decision 0170): loopback only.
  await warmUpHttpClient().catch((err: unknown) =>
    logger.warn({ event: 'warmup.failed', error: (err as Error).message }, 'HTTP client warm-up failed'),
  );
  // Request decoding's first run, then the garbage of start-up collected at once, before the port opens
  // rather than in the first requests (decision 0205).
  warmCodecs(gateway.codecs, logger);
  collectGarbage();

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
  process.off('SIGTERM', remember).off('SIGINT', remember);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (signalledDuringStart) return stop(signalledDuringStart);

  const address = await gateway.app.listen({ host: config.server.host, port: config.server.port });
  helpers.scan();
  logger.info(
    {
      event: 'gateway.ready',
      address,
      pid: process.pid,
      ...(cluster.isWorker ? { worker: cluster.worker?.id } : {}),
      providers: gateway.offered.providers,
      routes: gateway.offered.routes,
    },
    `LLM Gateway listening on ${address}`,
  );
  const openBind = openBindWarning(config);
  if (openBind) logger.warn({ event: 'gateway.open_bind', host: config.server.host }, openBind);
  for (const { alias, reason } of gateway.offered.unusableRoutes) {
    logger.warn(
      { event: 'gateway.route_unusable', route: alias },
      `Route "${alias}" cannot serve: ${reason}`,
    );
  }
  if (gateway.offered.providers.length === 0) {
    logger.warn(
      { event: 'gateway.no_provider' },
      'No provider can serve yet: set a key such as OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY (GET /health lists them all).',
    );
  }
  logger.flush();
}

/** `llm-gateway eval …`: Ctrl-C stops at once; the pairs in flight are dropped and run again when the command is rerun. */
async function runEval(): Promise<void> {
  const args = process.argv.slice(3);
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    process.stdout.write(EVAL_USAGE);
    process.exit(args.length === 0 ? 2 : 0);
  }
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const code = await runEvalCommand(
    args,
    process.env,
    {
      out: (text) => process.stdout.write(text),
      err: { write: (text) => process.stderr.write(text), isTTY: process.stderr.isTTY === true },
      signal: controller.signal,
    },
    systemClock,
  );
  process.exit(code);
}

/** `llm-gateway demo`: runs until SIGINT/SIGTERM. */
async function runDemo(env: NodeJS.ProcessEnv): Promise<void> {
  const demo = await startDemo({ env, clock: systemClock });
  process.stdout.write(demo.banner);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the demo …\n');
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** How often the serving process looks for new helper threads to lower (decision 0186). */
const HELPER_RESCAN_MS = 5_000;

const USAGE = `Usage:
  llm-gateway [start] [--config FILE] [--workers N]
                                           run the gateway (or set GATEWAY_CONFIG; WORKERS=N)
  llm-gateway check-config [--config FILE] validate the configuration and list what it offers
  llm-gateway keys create|list|revoke|rotate manage API keys (llm-gateway keys --help)
  llm-gateway orgs|teams create|list|…       organizations and teams (llm-gateway orgs --help)
  llm-gateway eval run|compare …           evaluate targets on a dataset (llm-gateway eval --help)
  llm-gateway spend rebuild-rollups|maintain rebuild spend rollups; create/drop usage partitions now
  llm-gateway prompts list|show|create|version|label|diff|archive|import|export
                                           manage prompts (llm-gateway prompts --help)
  llm-gateway migrate [--config FILE]      apply the database migrations (DATABASE_URL, else PGlite) and exit
  llm-gateway demo                         a demo: the gateway, a simulated upstream, keys, traffic, console
`;

/**
 * Applies pending migrations to the configured database (the gateway also does so at start). A database that
 * is still starting is waited for up to 30 s (a deploy job may run this alongside it); the error names why.
 */
async function runMigrations(config: ReturnType<typeof loadConfig>): Promise<void> {
  let database: Awaited<ReturnType<typeof openCliDatabase>>;
  try {
    // `ready` settles once every migration ran. A running gateway holds the embedded database
    // (DatabaseLockedError): it migrated it at its start.
    database = await openCliDatabase(config, { attempts: MIGRATE_ATTEMPTS, waitMs: 30_000 });
  } catch (err) {
    process.stderr.write(`migration failed: ${errorText(err)}\n`);
    process.exitCode = 1;
    return;
  }
  try {
    const migrations = await new Migrator({ db: database.db, provider: migrationProvider }).getMigrations();
    const lines = migrations.map((m) => `  ${m.executedAt ? '✓' : '-'} ${m.name}`);
    process.stdout.write(`database (${database.kind}) is up to date:\n${lines.join('\n')}\n`);
  } catch (err) {
    process.stderr.write(`migration failed: ${errorText(err)}\n`);
    process.exitCode = 1;
  } finally {
    await database.close();
  }
}

/** 22.5 s of backoff between the attempts (within the 30 s): `migrate` waits for a database that is starting. */
const MIGRATE_ATTEMPTS = 8;

/** Prints the providers that would be offered and the routes, or exits non-zero on a broken route. */
function checkConfig(config: ReturnType<typeof loadConfig>, env: NodeJS.ProcessEnv): void {
  const registry = new ProviderRegistry(config.providers, env, {
    dispatcher: new Agent(),
    clock: systemClock,
  });
  const lines = ['configuration is valid', 'providers:'];
  for (const status of registry.statuses()) {
    lines.push(
      `  ${status.offered ? '✓' : '-'} ${status.name} (${status.type})${status.reason ? `: ${status.reason}` : ''}`,
    );
  }
  const resolver = new ModelResolver(config, registry);
  let broken = 0;
  lines.push('routes:');
  for (const alias of Object.keys(config.routes)) {
    try {
      const route = resolver.resolve(alias);
      lines.push(`  ✓ ${alias} → ${route.deployments.map((d) => d.id).join(', ')}`);
    } catch (err) {
      broken++;
      lines.push(`  ✗ ${alias}: ${(err as Error).message}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(broken > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`LLM Gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
