/**
 * Packaging and monitoring files, checked without a Docker engine or a cluster (DESIGN §13): every YAML
 * parses, manifests carry the fields Kubernetes and Compose need, probes point at routes the gateway
 * serves, files the stack mounts exist, the settings they pass are a valid gateway configuration, the
 * image starts the way the README says, and every dashboard and rule query reads only metrics the gateway
 * exports.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway } from '../helpers/gateway.js';
import { metricNames } from '../helpers/promql.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = join(ROOT, 'deploy');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML/JSON is walked freely; the assertions are the checks
type Doc = Record<string, any>;

const START_COMMAND = 'node bin/llm-gateway.mjs start';

/** Every name a query may read: exported metrics (histograms with their series) and recording rules. */
async function allowedNames(): Promise<Set<string>> {
  const metrics = createMetrics();
  const allowed = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    allowed.add(m.name);
    if (String(m.type) === 'histogram')
      for (const s of ['_bucket', '_sum', '_count']) allowed.add(m.name + s);
    if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) allowed.add(m.name + s);
  }
  const recording = parseYaml(read('deploy/prometheus/rules/recording.yml')) as Doc;
  for (const group of recording.groups) for (const rule of group.rules) allowed.add(rule.record);
  // Written by Prometheus itself for every scrape target (LLMGatewayDown).
  allowed.add('up');
  return allowed;
}

function dockerInstructions(): Array<{ op: string; args: string }> {
  const joined = read('Dockerfile').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

/** The image's ENV settings (HOST, PORT …). */
function dockerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const step of dockerInstructions().filter((s) => s.op === 'ENV')) {
    for (const [, name, value] of step.args.matchAll(/(\w+)=(\S+)/g)) if (name && value) env[name] = value;
  }
  return env;
}

describe('container image (Dockerfile)', () => {
  const steps = dockerInstructions();

  test('multi-stage, production dependencies only, non-root user, health check on /health/live', () => {
    assert.ok(steps.filter((s) => s.op === 'FROM').length >= 2, 'multi-stage');
    assert.ok(
      steps.some((s) => s.op === 'RUN' && /npm ci\b.*--omit=dev/.test(s.args)),
      'npm ci --omit=dev',
    );
    const user = steps.filter((s) => s.op === 'USER').at(-1);
    assert.ok(user && !/^(root|0)(:|$)/.test(user.args), `runs as a non-root user (${user?.args})`);
    const health = steps.find((s) => s.op === 'HEALTHCHECK');
    assert.ok(health?.args.includes('/health/live'), 'HEALTHCHECK probes /health/live');
  });

  test('the image listens on 0.0.0.0: it needs an admin key or an explicit AUTH_MODE to start', () => {
    const env = dockerEnv();
    assert.equal(env.HOST, '0.0.0.0');
    assert.throws(() => loadConfig({ env }), /GATEWAY_ADMIN_KEY.*AUTH_MODE=none/s);
    assert.equal(
      loadConfig({ env: { ...env, GATEWAY_ADMIN_KEY: 'admin-0123456789' } }).server.host,
      '0.0.0.0',
    );
    assert.equal(loadConfig({ env: { ...env, AUTH_MODE: 'none' } }).server.host, '0.0.0.0');
    const fly = read('fly.toml');
    assert.equal(
      /AUTH_MODE = "(\w+)"/.exec(fly)?.[1],
      'keys',
      'fly.toml requires keys on its public address',
    );
  });

  test("the image's NODE_OPTIONS are accepted by node and hold the young generation at 8 MiB semi-spaces", () => {
    const env = dockerEnv();
    assert.equal(env.NODE_OPTIONS, '--max-semi-space-size=8', 'decisions 0169 and 0192');
    // Node refuses to start at all when NODE_OPTIONS holds an option it does not allow there.
    // Short-lived garbage makes V8 grow the young generation to its limit: two semi-spaces of 8 MiB.
    const churn = `const v8 = require('node:v8'); let keep = []; let max = 0;
      for (let i = 0; i < 2e6; i++) {
        keep.push({ i, a: [i] }); if (keep.length > 20000) keep = [];
        if (i % 5000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
      }
      process.stdout.write(String(max / 1048576));`;
    const youngMiB = (nodeOptions: string) =>
      Number(
        execFileSync(process.execPath, ['-e', churn], {
          encoding: 'utf8',
          env: { ...process.env, NODE_OPTIONS: nodeOptions },
        }),
      );
    assert.equal(youngMiB(env.NODE_OPTIONS), 16);
    assert.ok(youngMiB('') >= 32, "V8's own default is larger (the flag is what holds it)");
  });

  test('CMD is the start command the README documents; it runs the compiled build, not the sources', () => {
    const cmd = steps.filter((s) => s.op === 'CMD').at(-1);
    assert.ok(cmd);
    const argv = JSON.parse(cmd.args) as string[];
    assert.equal(argv.join(' '), START_COMMAND);
    assert.ok(read('README.md').includes(START_COMMAND), 'README documents the same command');
    assert.ok(existsSync(join(ROOT, argv[1] as string)));
    const pkg = JSON.parse(read('package.json')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    // npm start passes on the command line the node flags the image sets in NODE_OPTIONS (decision 0192).
    const [node, ...rest] = START_COMMAND.split(' ');
    assert.equal(
      pkg.scripts.start,
      [node, dockerEnv().NODE_OPTIONS, ...rest].join(' '),
      'npm start runs the same command, with the same node flags',
    );
    // The image holds dist/ from the build stage and no sources; tsx is loaded only on request (dev).
    const runtime = steps.slice(steps.findLastIndex((s) => s.op === 'FROM'));
    assert.ok(runtime.some((s) => s.op === 'COPY' && /--from=build\b.*\/app\/dist \.\/dist$/.test(s.args)));
    assert.ok(!runtime.some((s) => s.op === 'COPY' && /(^|\s)src\b/.test(s.args)), 'no sources in the image');
    assert.ok(!read(argv[1] as string).includes("import { register } from 'tsx"), 'no static tsx import');
    assert.equal(pkg.dependencies.tsx, undefined, 'tsx is a development dependency');
  });

  test('every COPY source exists and is not excluded by .dockerignore', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const step of steps.filter((s) => s.op === 'COPY' && !s.args.includes('--from='))) {
      const parts = step.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        assert.ok(existsSync(join(ROOT, source)), `COPY source ${source} exists`);
        assert.ok(!ignored.includes(source), `${source} is not in .dockerignore`);
      }
    }
  });
});

describe('compose stack (deploy/compose.yaml)', () => {
  const compose = parseYaml(read('deploy/compose.yaml')) as Doc;

  test('has the gateway, Redis, PostgreSQL, Jaeger, Prometheus and Grafana', () => {
    for (const name of ['gateway', 'redis', 'postgres', 'jaeger', 'prometheus', 'grafana']) {
      assert.ok(compose.services[name], `service ${name}`);
      assert.ok(
        compose.services[name].image || compose.services[name].build,
        `${name} has an image or build`,
      );
    }
  });

  test('every mounted file or folder and the build context exist', () => {
    const build = compose.services.gateway.build;
    assert.ok(existsSync(join(DEPLOY, build.context, build.dockerfile)));
    let mounts = 0;
    for (const [name, service] of Object.entries(compose.services as Record<string, Doc>)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0] as string;
        if (!source.startsWith('.')) continue; // a named volume
        mounts++;
        assert.ok(existsSync(join(DEPLOY, source)), `${name}: ${source} exists`);
      }
    }
    assert.ok(mounts >= 5, 'Prometheus config and rules, Grafana provisioning and dashboards are mounted');
  });

  test("the gateway's environment is a valid configuration; telemetry points at services of the stack", () => {
    const env = compose.services.gateway.environment as Record<string, string>;
    // The image sets HOST=0.0.0.0: the stack's settings must allow that (auth required or explicit).
    const config = loadConfig({ env: { HOST: dockerEnv().HOST, ...env } });
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.auth.mode, 'keys', 'the published port requires API keys');
    const otlp = new URL(String(config.telemetry.otlp_endpoint));
    assert.ok(compose.services[otlp.hostname], `OTLP endpoint host ${otlp.hostname} is a service`);
    assert.equal(otlp.port, '4318', 'OTLP/HTTP port');
    assert.ok(compose.services[new URL(String(config.redis.url)).hostname]);
    assert.ok(compose.services[new URL(String(config.database.url)).hostname]);
    const prometheus = parseYaml(read('deploy/prometheus/prometheus.yml')) as Doc;
    const job = prometheus.scrape_configs.find((j: Doc) => j.job_name === 'llm-gateway');
    assert.deepEqual(job.static_configs[0].targets, [`gateway:${config.server.port}`]);
    assert.equal(job.metrics_path, '/metrics');
  });
});

describe('Kubernetes manifests (deploy/k8s)', () => {
  const dir = join(DEPLOY, 'k8s');
  const docs: Doc[] = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Doc));
  const byKind = (kind: string) => {
    const found = docs.find((d) => d.kind === kind);
    assert.ok(found, `a ${kind}`);
    return found;
  };

  test('StatefulSet, Service, HPA, ConfigMap, Secret template and PodDisruptionBudget, each well-formed', () => {
    for (const kind of [
      'StatefulSet',
      'Service',
      'HorizontalPodAutoscaler',
      'ConfigMap',
      'Secret',
      'PodDisruptionBudget',
    ]) {
      const doc = byKind(kind);
      assert.ok(doc.apiVersion, `${kind}.apiVersion`);
      assert.ok(doc.metadata?.name, `${kind}.metadata.name`);
    }
    const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Doc;
    for (const file of kustomization.resources as string[]) assert.ok(existsSync(join(dir, file)), file);
  });

  test('selectors, references and ports line up', () => {
    const deployment = byKind('StatefulSet');
    const podLabels = deployment.spec.template.metadata.labels;
    assert.deepEqual(deployment.spec.selector.matchLabels, podLabels);
    assert.deepEqual(byKind('Service').spec.selector, podLabels);
    assert.deepEqual(byKind('PodDisruptionBudget').spec.selector.matchLabels, podLabels);
    const hpa = byKind('HorizontalPodAutoscaler');
    assert.equal(hpa.spec.scaleTargetRef.kind, 'StatefulSet');
    assert.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
    const container = deployment.spec.template.spec.containers[0];
    const envFrom = container.envFrom as Doc[];
    assert.ok(envFrom.some((e) => e.configMapRef?.name === byKind('ConfigMap').metadata.name));
    assert.ok(envFrom.some((e) => e.secretRef?.name === byKind('Secret').metadata.name));
    const portNames = (container.ports as Doc[]).map((p) => p.name);
    for (const probe of ['readinessProbe', 'livenessProbe'])
      assert.ok(portNames.includes(container[probe].httpGet.port));
    const configMap = byKind('ConfigMap');
    assert.equal(String(container.ports[0].containerPort), configMap.data.PORT);
    // preStop pauses while endpoints drop the pod; SIGTERM's drain comes after it, inside the grace period.
    const preStop = container.lifecycle.preStop.exec.command as string[];
    assert.equal(preStop[0], 'sleep');
    assert.ok(
      deployment.spec.template.spec.terminationGracePeriodSeconds >
        Number(preStop[1]) + Number(configMap.data.SHUTDOWN_GRACE_SECONDS),
    );
  });

  test('the usage spool is on a PersistentVolumeClaim of each pod (survives rescheduling)', () => {
    const set = byKind('StatefulSet');
    const spoolDir = loadConfig({ env: { USAGE_SPOOL_DIR: byKind('ConfigMap').data.USAGE_SPOOL_DIR } })
      .accounting.spool_dir as string;
    assert.ok(spoolDir, 'USAGE_SPOOL_DIR is set');
    const container = set.spec.template.spec.containers[0];
    const mount = (container.volumeMounts as Doc[]).find((m) => spoolDir.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `a volume is mounted above ${spoolDir}`);
    assert.ok(!mount.readOnly);
    const claim = (set.spec.volumeClaimTemplates as Doc[]).find((c) => c.metadata.name === mount.name);
    assert.ok(claim, `${mount.name} is a volumeClaimTemplate, not an emptyDir`);
    assert.ok(claim.spec.accessModes.includes('ReadWriteOnce'));
    assert.ok(claim.spec.resources.requests.storage);
    const podVolumes = ((set.spec.template.spec.volumes ?? []) as Doc[]).map((v) => v.name);
    assert.ok(!podVolumes.includes(mount.name), 'not shadowed by a pod volume of the same name');
    assert.equal(set.spec.persistentVolumeClaimRetentionPolicy.whenScaled, 'Retain');
  });

  test('ConfigMap settings and its gateway.yaml are a valid configuration', () => {
    const {
      'gateway.yaml': yamlText,
      GATEWAY_CONFIG: _path,
      ...env
    } = byKind('ConfigMap').data as Record<string, string>;
    const config = loadConfig({ env: { HOST: dockerEnv().HOST, ...env }, yamlText });
    assert.equal(config.auth.mode, 'keys', 'pods listen on 0.0.0.0: API keys required');
    assert.ok(Object.keys(config.routes).length > 0);
    assert.ok(config.telemetry.otlp_endpoint);
  });

  test('probes and health checks point at routes the gateway answers with 200', async () => {
    const deployment = byKind('StatefulSet');
    const container = deployment.spec.template.spec.containers[0];
    assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
    assert.equal(container.livenessProbe.httpGet.path, '/health/live');
    const fly = read('fly.toml');
    const flyPath = /\[\[http_service\.checks\]\][^[]*path = "([^"]+)"/.exec(fly)?.[1];
    assert.equal(
      /internal_port = (\d+)/.exec(fly)?.[1],
      /PORT = "(\d+)"/.exec(fly)?.[1],
      'fly internal_port = PORT',
    );
    assert.ok(existsSync(join(ROOT, /dockerfile = "([^"]+)"/.exec(fly)?.[1] ?? 'missing')));
    const mock = await MockUpstream.start();
    const gw = await startGateway({ mock });
    try {
      const paths = [
        container.readinessProbe.httpGet.path,
        container.livenessProbe.httpGet.path,
        container.startupProbe.httpGet.path,
        flyPath,
        '/metrics',
      ];
      for (const path of paths) {
        const res = await fetch(`${gw.url}${path}`);
        assert.equal(res.status, 200, `${path} answers 200`);
        await res.arrayBuffer();
      }
    } finally {
      await gw.close();
      await mock.close();
    }
  });
});

describe('CI workflow (.github/workflows/ci.yml)', () => {
  test('lint, typecheck, tests with Redis and PostgreSQL services, and an image build', () => {
    const ci = parseYaml(read('.github/workflows/ci.yml')) as Doc;
    const jobs = Object.values(ci.jobs) as Doc[];
    const testJob = jobs.find((j) => j.services);
    assert.ok(testJob, 'a job with services');
    assert.ok(testJob.services.redis && testJob.services.postgres);
    const runs = (testJob.steps as Doc[]).map((s) => String(s.run ?? '')).join('\n');
    for (const command of ['npm run lint', 'npm run typecheck', 'scripts/run-tests.mjs', 'prometheus']) {
      assert.ok(runs.includes(command), `runs ${command}`);
    }
    assert.equal(testJob.env.CI, 'true');
    const imageJob = jobs.find((j) =>
      (j.steps as Doc[]).some((s) => String(s.uses ?? '').startsWith('docker/build-push-action')),
    );
    assert.ok(imageJob, 'builds the image');
  });
});

describe('Grafana dashboard and provisioning (deploy/grafana)', () => {
  const dashboard = JSON.parse(read('deploy/grafana/dashboards/llm-gateway.json')) as Doc;
  const panels = (dashboard.panels as Doc[]).filter((p) => p.type !== 'row');

  test('rows for traffic, latency, cache, cost, rate limiting and errors; at least 15 panels', () => {
    const rows = (dashboard.panels as Doc[])
      .filter((p) => p.type === 'row')
      .map((r) => String(r.title).toLowerCase());
    for (const row of ['traffic', 'latency', 'cache', 'cost', 'rate limiting', 'errors']) {
      assert.ok(
        rows.some((r) => r.includes(row)),
        `row ${row}`,
      );
    }
    assert.ok(panels.length >= 15, `${panels.length} panels`);
    const titles = panels.map((p) => String(p.title).toLowerCase());
    assert.ok(titles.some((t) => t.includes('p50') && t.includes('p99')));
    assert.ok(titles.some((t) => t.includes('first token')));
  });

  test('every panel query reads only metrics the gateway exports', async () => {
    const allowed = await allowedNames();
    let queries = 0;
    for (const panel of panels) {
      assert.ok((panel.targets as Doc[]).length > 0, `${panel.title} has a query`);
      for (const target of panel.targets as Doc[]) {
        queries++;
        const names = metricNames(target.expr);
        assert.ok(names.length > 0, `${panel.title}: ${target.expr} reads a metric`);
        for (const name of names) assert.ok(allowed.has(name), `${panel.title}: ${name} is not exported`);
      }
    }
    assert.ok(queries >= panels.length);
    for (const variable of dashboard.templating.list as Doc[]) {
      for (const name of metricNames(String(variable.query.query).replace(/^label_values\((.*)\)$/, '$1'))) {
        assert.ok(allowed.has(name) || name === 'model', `variable ${variable.name}: ${name}`);
      }
    }
  });

  test('each model variable filters only metrics whose `model` label means what the variable lists', () => {
    // The request metrics' `model` is the name the client asked for (an alias, a listed model); the token
    // and cost metrics' is the pricing table's name of the model that served. An alias selected in one
    // variable matches nothing in the other kind.
    const meaning: Record<string, 'requested' | 'priced'> = {
      llm_requests_total: 'requested',
      llm_request_duration_seconds_bucket: 'requested',
      llm_time_to_first_token_seconds_bucket: 'requested',
      llm_token_count: 'priced',
      llm_cost_usd_total: 'priced',
    };
    const source = new Map<string, string>();
    for (const variable of dashboard.templating.list as Doc[]) {
      const metric = /^label_values\((\w+), model\)$/.exec(String(variable.query.query))?.[1];
      if (metric) source.set(`$${variable.name}`, metric);
    }
    const seen = new Set<string>();
    for (const panel of panels) {
      for (const target of panel.targets as Doc[]) {
        for (const [, metric, variable] of String(target.expr).matchAll(/(\w+)\{[^}]*model=~"(\$\w+)"/g)) {
          const from = source.get(variable as string);
          assert.ok(from, `${panel.title}: ${variable} is a model variable`);
          assert.ok(
            meaning[metric as string],
            `${panel.title}: the meaning of ${metric}'s model label is known`,
          );
          assert.equal(
            meaning[metric as string],
            meaning[from],
            `${panel.title}: ${metric} filtered by ${variable}, whose values come from ${from}`,
          );
          seen.add(meaning[from] as string);
        }
      }
    }
    assert.deepEqual([...seen].sort(), ['priced', 'requested'], 'both kinds of panel are filtered');
  });

  test('panels use the provisioned datasource; the dashboard provider reads the folder compose mounts', () => {
    const datasources = parseYaml(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as Doc;
    const uid = datasources.datasources[0].uid;
    for (const panel of panels) assert.equal(panel.datasource.uid, uid, panel.title);
    const providers = parseYaml(read('deploy/grafana/provisioning/dashboards/llm-gateway.yml')) as Doc;
    const compose = parseYaml(read('deploy/compose.yaml')) as Doc;
    const mounts = compose.services.grafana.volumes as string[];
    assert.ok(
      mounts.some(
        (m) =>
          m.startsWith('./grafana/dashboards:') && m.split(':')[1] === providers.providers[0].options.path,
      ),
    );
    assert.equal(new URL(datasources.datasources[0].url).hostname, 'prometheus');
  });
});

describe('Prometheus rules read only exported metrics', () => {
  test('recording and alert rules', async () => {
    const allowed = await allowedNames();
    const alerts: string[] = [];
    for (const file of ['recording.yml', 'alerts.yml']) {
      const doc = parseYaml(read(`deploy/prometheus/rules/${file}`)) as Doc;
      for (const group of doc.groups) {
        for (const rule of group.rules) {
          if (rule.alert) alerts.push(rule.alert);
          for (const name of metricNames(rule.expr))
            assert.ok(allowed.has(name), `${file}: ${name} is not exported`);
        }
      }
    }
    for (const alert of ['LLMGatewayHighErrorRate', 'LLMGatewayHighLatencyP99', 'LLMGatewayDailyCostHigh']) {
      assert.ok(alerts.includes(alert), alert);
      assert.ok(read('docs/runbook.md').includes(`## ${alert}`), `the runbook covers ${alert}`);
    }
  });

  test('the name extraction finds what it must (so the checks above can fail)', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (le, model) (rate(llm_x_bucket{model=~"$model"}[5m]))) > 1e-9 and on(job) up',
      ),
      ['llm_x_bucket', 'up'],
    );
    assert.deepEqual(
      metricNames('sum(rate(llm_requests_totl[5m])) / clamp_min(sum(rate(llm_requests_total[5m])), 1)'),
      ['llm_requests_totl', 'llm_requests_total'],
    );
  });
});
