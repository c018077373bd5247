// The backend in use as a Prometheus info metric: labelloop_ml_backend_info{backend} = 1.
import { Gauge, type Registry } from 'prom-client';
import { currentBackend } from './init-backend.js';

/** Gauge {backend}: 1 for the tfjs backend this process trains and predicts with. */
export const ML_BACKEND_INFO = 'labelloop_ml_backend_info';

/**
 * Adds the gauge to `registry` (once; later calls return the same gauge). Its value is read at
 * scrape time, so it may be registered before initBackend has run.
 */
export function registerBackendMetric(registry: Registry): Gauge<'backend'> {
  const existing = registry.getSingleMetric(ML_BACKEND_INFO);
  if (existing) return existing as Gauge<'backend'>;
  return new Gauge({
    name: ML_BACKEND_INFO,
    help: 'The TensorFlow.js backend in use (value 1)',
    labelNames: ['backend'],
    registers: [registry],
    collect() {
      this.reset();
      const backend = currentBackend();
      if (backend) this.set({ backend: backend.name }, 1);
    },
  });
}
