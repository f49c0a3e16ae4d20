/**
 * The prom-client edge: registers metric families computed on each scrape
 * (so a scrape shows the latest status, never a stale copy) and renders the
 * text exposition format. Used by the API's /metrics and `status --prometheus`.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import { redact } from '../redact.js';

// Loaded on first use, not imported: the CLI bundle would hoist a static import and every
// cold CLI start would pay ~40 ms for prom-client, needed only by `status --prometheus`.
const load = createRequire(import.meta.url);
const promClient = () => load('prom-client') as typeof PromClient;
import type { MetricFamily } from './migration-metrics.js';

/** Names whose samples come from `source` at scrape time; a family missing from the source is left empty. */
export function registerFamilies(registry: Registry, names: Array<{ name: string; help: string; labelNames?: string[] }>, source: () => MetricFamily[]): void {
  const { Gauge } = promClient();
  for (const { name, help, labelNames = [] } of names) {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        const family = source().find((f) => f.name === name);
        for (const sample of family?.samples ?? []) {
          if (sample.labels) this.set(sample.labels, sample.value);
          else this.set(sample.value);
        }
      },
    });
  }
}

/** Renders families once (for `status --prometheus`, a node_exporter textfile). Redacted like every output. */
export async function renderFamilies(families: MetricFamily[]): Promise<string> {
  const registry = new (promClient().Registry)();
  registerFamilies(
    registry,
    families.map((f) => ({ name: f.name, help: f.help, labelNames: [...new Set(f.samples.flatMap((s) => Object.keys(s.labels ?? {})))] })),
    () => families,
  );
  return redact(await registry.metrics());
}
