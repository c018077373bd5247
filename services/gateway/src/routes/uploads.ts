// POST /v1/datasets/{id}/items: a multipart batch of images, one result per file.
import type { AppDeps } from '../app.js';
import { readUpload } from '../multipart/read-upload.js';
import { IdParams, UploadForm } from '../openapi/requests.js';
import { UploadResponse } from '../openapi/schemas.js';
import { GrpcCallError, Status } from '@labelloop/common';
import { HttpProblem } from '../problem.js';
import { actorOf, defineRoute, type Route } from './route.js';

export function uploadRoutes({ dataset, limits }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/datasets/{id}/items',
      operationId: 'uploadItems',
      summary: 'Upload images',
      description:
        'multipart/form-data with one or more `file` parts and an optional `label` field that applies to ' +
        'every file; send `label` before the files (parts are streamed, not buffered); other fields are ' +
        'ignored. Files over the per-image limit are rejected as too_large while the rest proceed. 201 when ' +
        'any file was created, 200 when none was created but some were duplicates, 400 problem (naming each ' +
        'file) when every file was rejected, 413 when there are more files than allowed.',
      tag: 'items',
      access: 'labeller',
      params: IdParams,
      multipart: { schema: UploadForm, description: 'Images and an optional label' },
      responses: {
        201: { description: 'At least one file was stored', schema: UploadResponse },
        200: { description: 'Nothing new: every file was a duplicate (or rejected)', schema: UploadResponse },
      },
      handler: async ({ req, res, params, principal }) => {
        if (!req.is('multipart/form-data')) throw new HttpProblem(415, 'Send the images as multipart/form-data.');
        const actor = actorOf(principal);
        // One UploadItems stream per request: the dataset service checks the dataset (404) and
        // the label (400) on the first file, before anything is stored.
        const results = await readUpload(req, {
          maxImageBytes: limits.maxImageBytes,
          maxFiles: limits.maxFilesPerUpload,
          readAhead: limits.uploadConcurrency,
          uploadAll: (files) => dataset.uploadItems(params.id, files, actor),
          beforeNoFilesProblem: () => dataset.getDataset(params.id),
        }).catch((err: unknown) => {
          throw labelProblem(err) ?? err;
        });
        const count = (outcome: string) => results.filter((r) => r.outcome === outcome).length;
        const summary = { results, created: count('created'), duplicates: count('duplicate'), rejected: count('rejected') };
        if (summary.rejected === results.length) {
          throw new HttpProblem(400, `None of the ${results.length} file(s) could be stored.`, {
            errors: results.map((r) => ({ fileName: r.fileName, code: r.error!.code, reason: r.error!.reason })),
          });
        }
        res.status(summary.created > 0 ? 201 : 200).json(summary);
      },
    }),
  ];
}

/** The dataset service refused the label field (it names it in the error details): 400 on body.label. */
function labelProblem(err: unknown): HttpProblem | undefined {
  if (!(err instanceof GrpcCallError) || err.code !== Status.INVALID_ARGUMENT || err.details?.field !== 'label') {
    return undefined;
  }
  const reason = `'${String(err.details.label)}' is not a class of this dataset.`;
  return new HttpProblem(400, reason, { errors: [{ path: 'body.label', code: 'unknown_class', reason }] });
}
