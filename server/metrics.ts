import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's metrics. One registry per app instance (so tests can run several); modules add their own. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method and route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const botUpdates = new Counter({
    name: 'bot_updates_total',
    help: 'Messenger updates handled, by channel and outcome (handled, duplicate).',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
  const reportsSubmitted = new Counter({
    name: 'selfreports_submitted_total',
    help: 'Self-reports submitted as leads, by channel.',
    labelNames: ['channel'] as const,
    registers: [registry],
  });
  return { registry, httpRequests, httpDuration, botUpdates, reportsSubmitted };
}

export type Metrics = ReturnType<typeof createMetrics>;
