// POST /v1/datasets/{id}/predict: online prediction with the dataset's champion, for other
// teams. Nothing is stored; the answer names the model version that made each prediction.
import type { AppDeps } from '../app.js';
import { readImages } from '../multipart/read-images.js';
import { PredictResponse } from '../openapi/active-learning-schemas.js';
import { IdParams, PredictForm, PredictQuery } from '../openapi/requests.js';
import { HttpProblem } from '../problem.js';
import { defineRoute, type Route } from './route.js';

/** The inference service's largest batch. */
export const MAX_PREDICT_IMAGES = 256;

export function predictionRoutes({ inference, limits }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/datasets/{id}/predict',
      operationId: 'predict',
      summary: 'Predict classes of images with the dataset’s champion model',
      description:
        'multipart/form-data with up to 256 `file` parts. Each prediction has the label, its calibrated confidence and ' +
        'the top-k classes; `model` says which version answered (provenance). 422 while the dataset has no champion; ' +
        '400 naming the file when an image cannot be decoded.',
      tag: 'predictions',
      access: 'viewer',
      params: IdParams,
      query: PredictQuery,
      multipart: { schema: PredictForm, description: 'The images' },
      responses: { 200: { description: 'One prediction per image, in order', schema: PredictResponse } },
      handler: async ({ req, res, params, query }) => {
        if (!req.is('multipart/form-data')) throw new HttpProblem(415, 'Send the images as multipart/form-data.');
        const images = await readImages(req, { maxImageBytes: limits.maxImageBytes, maxFiles: MAX_PREDICT_IMAGES });
        res.json(await inference.predict(params.id, images, query.topK));
      },
    }),
  ];
}
