// Child process of run.ts: runs the jobs it is sent, one at a time, reporting each round.
import { runLoop, runRandomRound, type LoopConfig, type LoopResult, type RoundResult } from './loop.js';

export type WorkerRequest =
  | { type: 'loop'; job: number; config: LoopConfig }
  | { type: 'random-round'; job: number; config: LoopConfig; round: number }
  | { type: 'exit' };
export type WorkerReply =
  | { type: 'round'; job: number; round: RoundResult }
  | { type: 'done'; job: number; result?: LoopResult; round?: RoundResult }
  | { type: 'failed'; job: number; error: string };

const send = (reply: WorkerReply) => process.send!(reply);
const failed = (job: number) => (err: unknown) =>
  send({ type: 'failed', job, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });

// Parent gone (finished, or stopped): stop too.
process.on('disconnect', () => process.exit(0));

process.on('message', (request: WorkerRequest) => {
  if (request.type === 'exit') {
    process.disconnect();
  } else if (request.type === 'loop') {
    const { job } = request;
    runLoop(request.config, (round) => send({ type: 'round', job, round })).then((result) => send({ type: 'done', job, result }), failed(job));
  } else {
    const { job } = request;
    runRandomRound(request.config, request.round).then((round) => send({ type: 'done', job, round }), failed(job));
  }
});
