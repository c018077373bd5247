// Asking another process whether it is ready: grpc.health.v1 Check over a short-lived channel.
// Used where no long-lived client exists (the launcher waiting for every service to start).
import { HealthDefinition } from 'nice-grpc-server-health';
import { createGrpcChannel, createGrpcClient } from './client.js';
import type { GrpcSecurity } from './security.js';

/** HealthCheckResponse.ServingStatus.SERVING (the package does not export the enum). */
const SERVING = 1;

export interface HealthCheckOptions {
  /** TLS when the server speaks it; the health service needs no token. */
  security?: GrpcSecurity;
  /** A registered service name; '' (default) asks about the whole server. */
  service?: string;
  timeoutMs?: number;
}

/** true only when the server at `address` answers SERVING; false when it answers otherwise or not at all. */
export async function isGrpcServing(address: string, options: HealthCheckOptions = {}): Promise<boolean> {
  const channel = createGrpcChannel(address, { security: options.security });
  try {
    const health = createGrpcClient(HealthDefinition, channel);
    const res = await health.check({ service: options.service ?? '' }, { timeoutMs: options.timeoutMs ?? 2000 });
    return res.status === SERVING;
  } catch {
    return false;
  } finally {
    channel.close();
  }
}
