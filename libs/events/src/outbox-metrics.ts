import { Counter, Gauge, type Registry } from 'prom-client';
import { OUTBOX_PENDING, OUTBOX_PUBLISHED_TOTAL, OUTBOX_PUBLISH_ERRORS_TOTAL } from './metric-names.js';

export interface OutboxMetrics {
  pending: { set(n: number): void };
  published: { inc(n?: number): void };
  errors: { inc(n?: number): void };
}

/**
 * Outbox metrics labelled by schema. Looked up before being created: prom-client refuses a
 * name twice, and two relays (or a relay recreated in a test) may share one registry.
 */
export function createOutboxMetrics(registry: Registry, schema: string): OutboxMetrics {
  const labelNames = ['schema'] as const;
  const pending = getOrCreate(registry, OUTBOX_PENDING, () =>
    new Gauge({ name: OUTBOX_PENDING, help: 'Outbox rows not yet published', labelNames, registers: [registry] }),
  );
  const published = getOrCreate(registry, OUTBOX_PUBLISHED_TOTAL, () =>
    new Counter({ name: OUTBOX_PUBLISHED_TOTAL, help: 'Outbox rows published to JetStream', labelNames, registers: [registry] }),
  );
  const errors = getOrCreate(registry, OUTBOX_PUBLISH_ERRORS_TOTAL, () =>
    new Counter({ name: OUTBOX_PUBLISH_ERRORS_TOTAL, help: 'Failed outbox publish attempts', labelNames, registers: [registry] }),
  );
  return {
    pending: { set: (n) => pending.set({ schema }, n) },
    published: { inc: (n = 1) => published.inc({ schema }, n) },
    errors: { inc: (n = 1) => errors.inc({ schema }, n) },
  };
}

function getOrCreate<M>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}
