// A tiny DatasetService (a few real methods of the generated definition) served by
// createGrpcServer on 127.0.0.1:0, used by the gRPC tests.
import { setTimeout as sleep } from 'node:timers/promises';
import { datasetV1 } from '@labelloop/proto';
import type { ServiceImplementation } from 'nice-grpc';
import {
  createGrpcChannel,
  createGrpcClient,
  createGrpcServer,
  createLogger,
  createMetricsRegistry,
  currentRequestId,
  DomainError,
  NotFoundError,
  type DomainErrorKind,
  type GrpcClient,
  type GrpcServer,
  type Logger,
} from '../src/index.js';

export const domainErrorKinds: DomainErrorKind[] = [
  'invalid_argument',
  'not_found',
  'already_exists',
  'conflict',
  'failed_precondition',
  'unavailable',
  'unauthenticated',
  'permission_denied',
  'resource_exhausted',
];

/** Log lines written by a logger, parsed. */
export function captureLogs(service = 'test'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service,
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

type DatasetClient = GrpcClient<datasetV1.DatasetServiceDefinition>;

/**
 * getDataset behaves by datasetId: a DomainErrorKind throws that kind with details;
 * 'crash' throws a plain Error; 'whoami' answers the current request id as the name;
 * 'hop' asks `downstream` for 'whoami'; 'slow:<ms>' waits (honouring cancellation).
 * exportDataset streams three chunks, or one then NOT_FOUND for 'fail-midway'.
 */
export function datasetImplementation(
  downstream?: DatasetClient,
): Partial<ServiceImplementation<datasetV1.DatasetServiceDefinition>> {
  return {
    async getDataset({ datasetId }, context) {
      if ((domainErrorKinds as string[]).includes(datasetId)) {
        throw new DomainError(datasetId as DomainErrorKind, `boom: ${datasetId}`, { kind: datasetId, fields: ['name'] });
      }
      if (datasetId === 'crash') throw new Error('database password is hunter2');
      if (datasetId === 'hop') return downstream!.getDataset({ datasetId: 'whoami' });
      if (datasetId.startsWith('slow:')) await sleep(Number(datasetId.slice(5)), undefined, { signal: context.signal });
      return { dataset: { id: datasetId, name: currentRequestId() ?? '' } };
    },
    async *exportDataset({ datasetId }) {
      for (let i = 0; i < 3; i++) {
        if (i === 1 && datasetId === 'fail-midway') throw new NotFoundError('export vanished', { at: i });
        yield { chunk: Buffer.from(`chunk-${i}-${currentRequestId()}`) };
      }
    },
  };
}

export interface Started {
  grpc: GrpcServer;
  port: number;
  address: string;
  client: DatasetClient;
  lines: Array<Record<string, unknown>>;
  registry: ReturnType<typeof createMetricsRegistry>;
  close(): Promise<void>;
}

export async function startDatasetServer(
  options: { downstream?: DatasetClient; defaultDeadlineMs?: number } = {},
): Promise<Started> {
  const { logger, lines } = captureLogs();
  const registry = createMetricsRegistry('test');
  const grpc = createGrpcServer({ logger, registry });
  grpc.addService(datasetV1.DatasetServiceDefinition, datasetImplementation(options.downstream));
  const port = await grpc.listen('127.0.0.1:0');
  const address = `127.0.0.1:${port}`;
  const channel = createGrpcChannel(address);
  const client = createGrpcClient(datasetV1.DatasetServiceDefinition, channel, {
    registry,
    defaultDeadlineMs: options.defaultDeadlineMs,
  });
  return {
    grpc,
    port,
    address,
    client,
    lines,
    registry,
    async close() {
      channel.close();
      await grpc.shutdown(1000);
    },
  };
}
