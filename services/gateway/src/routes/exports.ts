// GET /v1/datasets/{id}/export: the dataset service's export stream piped to the client,
// one chunk at a time, waiting for the socket to drain (backpressure reaches gRPC's flow
// control). A client that goes away cancels the server stream.
import { once } from 'node:events';
import type { AppDeps } from '../app.js';
import { ExportQuery, IdParams } from '../openapi/requests.js';
import type { ExportFormatName } from '../openapi/schemas.js';
import { defineRoute, type Route } from './route.js';

const contentTypes: Record<ExportFormatName, string> = {
  zip: 'application/zip',
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/jsonl; charset=utf-8',
};

/** `<dataset-name>-<YYYY-MM-DD>.<ext>`, with path and control characters replaced. */
export function exportFileName(datasetName: string, format: ExportFormatName, now = new Date()): string {
  const safe = datasetName.replace(/[\u0000-\u001f\u007f/\\"]/g, '_').trim() || 'dataset';
  return `${safe}-${now.toISOString().slice(0, 10)}.${format}`;
}

export function exportRoutes({ dataset, logger }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/datasets/{id}/export',
      operationId: 'exportDataset',
      summary: 'Download the labelled dataset',
      description:
        'ZIP (images in class folders plus labels), CSV or JSONL, streamed as it is produced. ' +
        'source limits the label sources; minConfidence drops model labels below it.',
      tag: 'datasets',
      access: 'viewer',
      params: IdParams,
      query: ExportQuery,
      responses: {
        200: {
          description: 'The export file',
          binary: Object.values(contentTypes),
          headers: { 'Content-Disposition': 'attachment; filename="<dataset-name>-<date>.<ext>"' },
        },
      },
      handler: async ({ res, params, query }) => {
        const { name } = await dataset.getDataset(params.id);
        const aborter = new AbortController();
        res.once('close', () => {
          if (!res.writableFinished) aborter.abort();
        });
        const chunks = dataset
          .exportDataset(
            { datasetId: params.id, format: query.format, sources: query.source ?? [], minConfidence: query.minConfidence },
            aborter.signal,
          )
          [Symbol.asyncIterator]();
        try {
          // The first chunk before any header: a refused export is still a problem response.
          let next = await chunks.next();
          res.attachment(exportFileName(name, query.format));
          res.setHeader('Content-Type', contentTypes[query.format]);
          res.status(200);
          while (!next.done) {
            if (!res.write(next.value)) await once(res, 'drain', { signal: aborter.signal });
            next = await chunks.next();
          }
          res.end();
        } catch (err) {
          if (!aborter.signal.aborted) throw err;
          logger.info({ datasetId: params.id }, 'export cancelled by the client');
        }
      },
    }),
  ];
}
