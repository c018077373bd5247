// Imports: a ZIP archive streamed to the dataset service, ingested in the background.
import type { AppDeps } from '../app.js';
import { readImport } from '../multipart/read-import.js';
import { IdParams, ImportForm } from '../openapi/requests.js';
import { Import, ImportAccepted } from '../openapi/schemas.js';
import { HttpProblem } from '../problem.js';
import { actorOf, defineRoute, type Route } from './route.js';

export function importRoutes({ dataset, limits }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/datasets/{id}/imports',
      operationId: 'startImport',
      summary: 'Import a ZIP archive',
      description:
        'multipart/form-data with one `archive` part (a ZIP) and an optional `addMissingClasses=true` field sent ' +
        'before it. The archive streams to the dataset service; once it is stored and its listing checked the ' +
        'answer is 202 and the entries are ingested in the background: poll the Location. An archive refused as ' +
        'a whole (unsafe paths, unknown classes, not a ZIP) is a 400 problem naming each entry.',
      tag: 'imports',
      access: 'labeller',
      params: IdParams,
      multipart: { schema: ImportForm, description: 'The archive and its options' },
      responses: {
        202: {
          description: 'Accepted; ingestion runs in the background',
          schema: ImportAccepted,
          headers: { Location: 'URL to poll' },
        },
      },
      handler: async ({ req, res, params, principal }) => {
        if (!req.is('multipart/form-data')) throw new HttpProblem(415, 'Send the archive as multipart/form-data.');
        const actor = actorOf(principal);
        const job = await readImport(req, {
          maxArchiveBytes: limits.maxArchiveBytes,
          start: (fileName, addMissingClasses, chunks) =>
            dataset.startImport({ datasetId: params.id, fileName, addMissingClasses, actor, chunks }),
        });
        res
          .status(202)
          .location(`/v1/imports/${encodeURIComponent(job.id)}`)
          .json({ importId: job.id, ...job });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/imports/{id}',
      operationId: 'getImport',
      summary: 'Progress of an import',
      tag: 'imports',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The import', schema: Import } },
      handler: async ({ res, params }) => {
        res.json(await dataset.getImport(params.id));
      },
    }),
  ];
}
