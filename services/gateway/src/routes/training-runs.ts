// Training runs: start (labeller), list and read (viewer), cancel (labeller), and follow one
// as server-sent events fed by the trainer's WatchTrainingRun stream.
import type { AppDeps } from '../app.js';
import { progressEventOf } from '../clients/trainer.mapping.js';
import { IdParams } from '../openapi/requests.js';
import {
  ListTrainingRunsQuery,
  StartTrainingRunBody,
  TRIGGER_HEADER,
  TriggerHeader,
} from '../openapi/training-requests.js';
import { finalRunStatuses, TrainingRun, TrainingRunPage } from '../openapi/training-schemas.js';
import { HttpProblem, toProblem } from '../problem.js';
import { SSE_CONTENT_TYPE, SseStream } from '../sse.js';
import { actorOf, defineRoute, type Route } from './route.js';

export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

export function trainingRunRoutes({ trainer, logger, sseHeartbeatMs }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/datasets/{id}/training-runs',
      operationId: 'startTrainingRun',
      summary: 'Start a training run',
      description:
        'Queues a run on the dataset’s labelled items (new labels since the champion plus a stratified ' +
        'replay of older ones). The body is optional. A scheduler (the retrain command) sends ' +
        '`X-Labelloop-Trigger: schedule`; the run is then recorded as requested by `schedule`.',
      tag: 'training',
      access: 'labeller',
      params: IdParams,
      json: StartTrainingRunBody,
      responses: {
        202: { description: 'Queued', schema: TrainingRun, headers: { Location: 'URL of the run' } },
      },
      handler: async ({ req, res, params, body, principal }) => {
        const trigger = TriggerHeader.safeParse(req.get(TRIGGER_HEADER));
        if (!trigger.success) {
          throw new HttpProblem(400, `The ${TRIGGER_HEADER} header must be api or schedule.`, {
            errors: [{ path: `header.${TRIGGER_HEADER}`, code: 'invalid_value', reason: 'must be api or schedule' }],
          });
        }
        const actor = actorOf(principal);
        const run = await trainer.startRun({
          datasetId: params.id,
          hyperParameters: body?.hyperParameters,
          search: body?.search,
          trigger: trigger.data,
          requestedBy: trigger.data === 'schedule' ? 'schedule' : actor,
        });
        logger.info({ runId: run.id, datasetId: params.id, trigger: trigger.data, keyName: actor }, 'training run started');
        res.status(202).location(`/v1/training-runs/${encodeURIComponent(run.id)}`).json(run);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/datasets/{id}/training-runs',
      operationId: 'listTrainingRuns',
      summary: 'Training runs of a dataset, newest first',
      tag: 'training',
      access: 'viewer',
      params: IdParams,
      query: ListTrainingRunsQuery,
      responses: { 200: { description: 'One page of runs', schema: TrainingRunPage } },
      handler: async ({ res, params, query }) => {
        res.json(await trainer.listRuns(params.id, query.limit, query.cursor));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/training-runs/{id}',
      operationId: 'getTrainingRun',
      summary: 'A training run with its progress',
      tag: 'training',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The run', schema: TrainingRun } },
      handler: async ({ res, params }) => {
        res.json(await trainer.getRun(params.id));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/training-runs/{id}',
      operationId: 'cancelTrainingRun',
      summary: 'Cancel a queued or running run',
      description: 'A running run stops within one batch; the answer may still say running until it has.',
      tag: 'training',
      access: 'labeller',
      params: IdParams,
      responses: { 200: { description: 'The run after the request', schema: TrainingRun } },
      handler: async ({ res, params, principal }) => {
        const run = await trainer.cancelRun(params.id);
        logger.info({ runId: run.id, keyName: actorOf(principal) }, 'training run cancel requested');
        res.json(run);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/training-runs/{id}/events',
      operationId: 'watchTrainingRun',
      summary: 'Follow a run as server-sent events',
      description:
        'text/event-stream: a `progress` event (JSON TrainingProgressEvent: status, phase, epoch, loss, ' +
        'accuracy, imagesPerSecond, etaSeconds, …) for the run as it is and for every change, then one ' +
        '`end` event with the final TrainingRun, and the stream closes. A comment line every 15 s keeps ' +
        'an idle stream open. If the trainer fails mid-stream an `error` event (a Problem) ends it. ' +
        'Try `curl -N -H "Authorization: Bearer $KEY" …/events`.',
      tag: 'training',
      access: 'viewer',
      params: IdParams,
      responses: { 200: { description: 'The event stream', binary: [SSE_CONTENT_TYPE] } },
      handler: async ({ res, params }) => {
        const aborter = new AbortController();
        res.once('close', () => aborter.abort());
        const runs = trainer.watchRun(params.id, aborter.signal)[Symbol.asyncIterator]();
        // The first message before any header: an unknown run is still a 404 problem.
        let next = await runs.next();
        const sse = new SseStream(res, sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS);
        try {
          while (!next.done) {
            const run = next.value;
            await sse.send('progress', progressEventOf(run));
            if (finalRunStatuses.has(run.status)) {
              await sse.send('end', run);
              aborter.abort(); // nothing more to hear: cancel the gRPC stream
              sse.end();
              return;
            }
            next = await runs.next();
          }
          throw new Error('the trainer ended the watch stream before the run finished');
        } catch (err) {
          if (aborter.signal.aborted) {
            logger.debug({ runId: params.id }, 'event stream closed by the client');
            return;
          }
          const problem = toProblem(err, logger);
          await sse.send('error', { status: problem.status, detail: problem.detail });
          sse.end();
        } finally {
          void runs.return?.(undefined)?.catch(() => {});
        }
      },
    }),
  ];
}
