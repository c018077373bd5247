// The gateway's metric names, in one place (labelloop_<thing>_<unit>), and the HTTP
// metrics every request updates.
import { counterOn, histogramOn, type Registry } from '@labelloop/common';
import type { Counter, Histogram } from 'prom-client';

/** Counter {method, route, status}: HTTP requests answered. */
export const HTTP_REQUESTS_TOTAL = 'labelloop_http_requests_total';
/** Histogram {method, route}: seconds from request to the end of the response. */
export const HTTP_REQUEST_DURATION_SECONDS = 'labelloop_http_request_duration_seconds';

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: counterOn(registry, HTTP_REQUESTS_TOTAL, 'HTTP requests answered', ['method', 'route', 'status']),
    duration: histogramOn(
      registry,
      HTTP_REQUEST_DURATION_SECONDS,
      'Seconds from an HTTP request to the end of its response',
      ['method', 'route'],
      // Uploads, imports and exports run for seconds to minutes.
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    ),
  };
}
