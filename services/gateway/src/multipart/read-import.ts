// Streams a multipart import: the `archive` part goes chunk by chunk into the dataset
// service's StartImport client stream (header first). Each chunk is pulled only when gRPC
// is ready for it, so a 2 GiB archive never sits in memory. Fields that shape the header
// (`addMissingClasses`) must come before the archive part.
import type { Request } from 'express';
import busboy from 'busboy';
import { AsyncResource } from 'node:async_hooks';
import type { Readable } from 'node:stream';
import type { ImportJson } from '../openapi/schemas.js';
import { HttpProblem } from '../problem.js';

export interface ReadImportOptions {
  maxArchiveBytes: number;
  start: (fileName: string, addMissingClasses: boolean, chunks: AsyncIterable<Buffer>) => Promise<ImportJson>;
}

function parseBoolean(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0' || v === '') return false;
  return undefined;
}

export function readImport(req: Request, options: ReadImportOptions): Promise<ImportJson> {
  const { maxArchiveBytes } = options;
  let addMissingClasses = false;
  let started: Promise<ImportJson> | undefined;
  let failure: unknown;
  const stop = (err: unknown) => {
    failure ??= err;
  };

  // Yields the part's chunks; throwing here cancels the gRPC call. The part is not
  // destroyed on an early exit (busboy would stall): it is drained instead.
  async function* chunks(stream: Readable & { truncated?: boolean }): AsyncIterable<Buffer> {
    for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
      if (failure !== undefined) throw failure;
      if (stream.truncated) break;
      yield chunk as Buffer;
    }
    if (stream.truncated) {
      stop(new HttpProblem(413, `The archive is larger than the ${maxArchiveBytes} bytes allowed.`));
    }
    if (failure !== undefined) throw failure;
  }

  return new Promise<ImportJson>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: maxArchiveBytes, files: 1, fields: 10, fieldSize: 256 } });
    } catch (err) {
      reject(new HttpProblem(400, `The multipart body cannot be read: ${(err as Error).message}.`));
      return;
    }

    // Bound to the handler's async context: busboy emits from socket callbacks, where the
    // request id (for the gRPC calls started here) would otherwise be lost.
    parser.on('field', AsyncResource.bind((name, value) => {
      if (name !== 'addMissingClasses') return; // other fields are ignored
      if (started) {
        stop(new HttpProblem(400, 'Send the addMissingClasses field before the archive part.'));
        return;
      }
      const parsed = parseBoolean(value);
      if (parsed === undefined) {
        stop(new HttpProblem(400, `addMissingClasses must be 'true' or 'false', not '${value}'.`));
      } else {
        addMissingClasses = parsed;
      }
    }));
    parser.on('file', AsyncResource.bind((name, stream, info) => {
      if (name !== 'archive') {
        stop(new HttpProblem(400, `The archive part must be named 'archive', not '${name}'.`));
      }
      if (failure !== undefined) {
        stream.resume();
        return;
      }
      started = options.start(info.filename || 'archive.zip', addMissingClasses, chunks(stream));
      // Once the call is over (done, refused or cancelled) drain the rest of the part, so
      // the body ends and the answer can go out.
      started.then(
        () => stream.resume(),
        () => stream.resume(),
      );
    }));
    parser.on('filesLimit', () => stop(new HttpProblem(400, 'Send exactly one archive part per import.')));
    parser.on('error', (err: Error) => {
      stop(new HttpProblem(400, `The multipart body cannot be read: ${err.message}.`));
      void finish();
    });
    parser.on('close', () => void finish());

    let finished = false;
    async function finish() {
      if (finished) return;
      finished = true;
      if (!started) {
        reject(failure ?? new HttpProblem(400, "The request has no archive part: send the ZIP file as the 'archive' part."));
        return;
      }
      try {
        const result = await started;
        if (failure !== undefined) reject(failure);
        else resolve(result);
      } catch (err) {
        // Our own reason for cancelling wins over what the cancelled call reports.
        reject(failure ?? err);
      }
    }

    req.once('close', () => {
      if (!req.complete) parser.destroy(new Error('the client aborted the request'));
    });
    req.pipe(parser);
  });
}
