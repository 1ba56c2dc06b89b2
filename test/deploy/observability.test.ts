/**
 * What operators load into Prometheus and Grafana (deploy/prometheus, deploy/grafana): the
 * alert rules pass `promtool check rules` and their own `promtool test rules` unit tests, the
 * example configuration passes `promtool check config`, every dashboard query is valid PromQL,
 * and every metric either uses is one the relay really exports.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const run = promisify(execFile);
const PROMTOOL = process.env.HUSH_PROMTOOL ?? 'promtool';

const RULES = 'deploy/prometheus/hush-alerts.yml';
const RULE_TESTS = 'deploy/prometheus/hush-alerts.test.yml';
const CONFIG = 'deploy/prometheus/prometheus.yml';
const DASHBOARD = 'deploy/grafana/hush-relay.json';

/** Exit code and output of promtool. */
async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof code !== 'number') throw error;
    return { code, output: `${stdout ?? ''}${stderr ?? ''}` };
  }
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parse(read(RULES)) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
}
const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
const queries = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel, ...target })),
);

/** Metric names the relay's registry declares (apps/relay/src/core/relay-metrics.ts). */
const RELAY_METRICS = new Set(
  [...read('apps/relay/src/core/relay-metrics.ts').matchAll(/\bname:\s*'(hush_[a-z0-9_]+)'/g)].map(
    (m) => m[1],
  ),
);

/** Node process metrics the relay exports through prom-client's default collectors. */
async function defaultMetricNames(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
  registry.clear();
  return new Set(names);
}

/** Metric names an expression reads (histogram series resolved to their histogram). */
function metricsIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  const names = [...withoutStrings.matchAll(/\b((?:hush|process|nodejs)_[a-z0-9_]+)\b/g)].map(
    (m) => m[1] ?? '',
  );
  return names.map((name) => name.replace(/_(bucket|sum|count)$/, ''));
}

const scratch = mkdtempSync(join(tmpdir(), 'hush-observability-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('Prometheus alert rules (deploy/prometheus)', () => {
  it('pass promtool check rules', async () => {
    const result = await promtool('check', 'rules', RULES);
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.code).toBe(0);
  });

  it('fire, and stay quiet, as their promtool unit tests expect', async () => {
    const result = await promtool('test', 'rules', RULE_TESTS);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('cover a replica down, Redis down, slow-consumer spikes, fan-out failures and lockouts', () => {
    const metricsAlerted = new Set(rules.flatMap((rule) => metricsIn(rule.expr)));
    expect(rules.some((rule) => /\bup\{[^}]*job="hush-relay"/.test(rule.expr))).toBe(true);
    for (const metric of [
      'hush_backend_up',
      'hush_slow_consumer_disconnections_total',
      'hush_fanout_failures_total',
      'hush_lockouts_total',
    ]) {
      expect(metricsAlerted, metric).toContain(metric);
    }
  });

  it('are each unit-tested both firing and quiet', () => {
    const tests = (
      parse(read(RULE_TESTS)) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const { alert } of rules) {
      const cases = tests.filter((test) => test.alertname === alert);
      expect(
        cases.some((test) => test.exp_alerts.length > 0),
        `${alert} fires in a test`,
      ).toBe(true);
      expect(
        cases.some((test) => test.exp_alerts.length === 0),
        `${alert} stays quiet in a test`,
      ).toBe(true);
    }
  });

  it('carry a severity, a summary and a description', () => {
    for (const rule of rules) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
  });

  it('ship with a Prometheus configuration that passes promtool check config', async () => {
    const result = await promtool('check', 'config', CONFIG);
    expect(result.code, result.output).toBe(0);
    const config = parse(read(CONFIG)) as { scrape_configs: { job_name: string }[] };
    expect(config.scrape_configs.map((job) => job.job_name)).toContain('hush-relay');
  });

  it('reject a broken rule (promtool really checks)', async () => {
    const broken = join(scratch, 'broken.yml');
    writeFileSync(
      broken,
      stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum(rate(x[5m])' }] }] }),
    );
    expect((await promtool('check', 'rules', broken)).code).not.toBe(0);
  });
});

describe('Grafana dashboard (deploy/grafana/hush-relay.json)', () => {
  it('has a uid, a title and panels with unique ids that do not overlap', () => {
    expect(dashboard.uid).toBe('hush-relay');
    expect(dashboard.title).toBeTruthy();
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { gridPos, title } of dashboard.panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x += 1) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y += 1) {
          expect(cells.has(`${x},${y}`), `${title} overlaps another panel`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('queries Prometheus through its data source variable, per selected replica', () => {
    const variables = dashboard.templating.list;
    expect(variables).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    expect(variables.map((variable) => variable.name)).toContain('instance');
    expect(queries.length).toBeGreaterThanOrEqual(10);
    for (const { panel, datasource } of queries) {
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      expect(datasource?.uid, panel.title).toBe('${datasource}');
    }
  });

  it('asks only valid PromQL (promtool parses every query)', async () => {
    const concrete = (expr: string) =>
      expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*');
    const file = join(scratch, 'dashboard-queries.yml');
    writeFileSync(
      file,
      stringify({
        groups: [
          {
            name: 'dashboard',
            rules: queries.map(({ panel, refId, expr }) => ({
              record: `dashboard:panel_${panel.id}:${refId}`,
              expr: concrete(expr),
            })),
          },
        ],
      }),
    );
    const result = await promtool('check', 'rules', file);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});

describe('metric names in the rules and the dashboard', () => {
  it('are all exported by the relay', async () => {
    const exported = new Set([...RELAY_METRICS, ...(await defaultMetricNames())]);
    expect(RELAY_METRICS.size).toBeGreaterThanOrEqual(10);
    const used = new Set([
      ...rules.flatMap((rule) => metricsIn(rule.expr)),
      ...queries.flatMap(({ expr }) => metricsIn(expr)),
    ]);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
