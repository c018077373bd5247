// grpc.health.v1 status driven by real state: NOT_SERVING while starting, when a hard
// dependency is lost and once shutdown begins; SERVING only when the service says so.
import { HealthState as NiceHealthState } from 'nice-grpc-server-health';

export class HealthState {
  /** The status map nice-grpc-server-health's HealthServiceImpl reads. */
  readonly state = NiceHealthState();
  private readonly services = new Set<string>();
  private serving = false;

  constructor() {
    // nice-grpc-server-health starts '' as healthy; we start NOT_SERVING.
    this.state.setStatus('unhealthy', '');
  }

  /** Adds a fully-qualified service name; it takes the current overall status. */
  register(serviceName: string): void {
    this.services.add(serviceName);
    this.state.setStatus(this.serving ? 'healthy' : 'unhealthy', serviceName);
  }

  /** Sets '' (the whole server) and every registered service. */
  setServing(serving: boolean): void {
    this.serving = serving;
    const status = serving ? 'healthy' : 'unhealthy';
    this.state.setStatus(status, '');
    for (const name of this.services) this.state.setStatus(status, name);
  }

  isServing(): boolean {
    return this.serving;
  }
}
