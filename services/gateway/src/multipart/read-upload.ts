// Streams a multipart upload with busboy: each `file` part is read into memory (at most
// MAX_IMAGE_BYTES) and handed to `upload` with at most `concurrency` in flight; while all
// slots are busy the part is not read, so busboy and the socket apply backpressure.
// Results come back in the order the parts were sent.
import type { Request } from 'express';
import busboy, { type FileInfo } from 'busboy';
import { AsyncResource } from 'node:async_hooks';
import type { Readable } from 'node:stream';
import type { UploadResultJson } from '../openapi/schemas.js';
import { HttpProblem } from '../problem.js';

export interface ReadUploadOptions {
  maxImageBytes: number;
  maxFiles: number;
  concurrency: number;
  /** Called once the label field is read: a reason to refuse it, or undefined. */
  checkLabel: (label: string) => string | undefined;
  upload: (fileName: string, content: Buffer, label: string | undefined) => Promise<Omit<UploadResultJson, 'fileName'>>;
}

/** A small counting semaphore: acquire() resolves when a slot is free. */
function slots(size: number) {
  let free = size;
  const waiting: Array<() => void> = [];
  return {
    acquire: () => (free > 0 ? (free--, Promise.resolve()) : new Promise<void>((resolve) => waiting.push(resolve))),
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const notProcessed = (fileName: string): UploadResultJson => ({
  fileName,
  outcome: 'rejected',
  error: { code: 'not_processed', reason: 'The request was ended before this file was stored.' },
});

const rejected = (fileName: string, code: string, reason: string): UploadResultJson => ({
  fileName,
  outcome: 'rejected',
  error: { code, reason },
});

export function readUpload(req: Request, options: ReadUploadOptions): Promise<UploadResultJson[]> {
  const { maxImageBytes, maxFiles, concurrency } = options;
  const pending: Array<Promise<UploadResultJson>> = [];
  const pool = slots(concurrency);
  let label: string | undefined;
  // The first thing that ends the request early: a problem, or a dataset service error
  // (uploads are idempotent by content, so the client can simply send the batch again).
  let failure: unknown;

  return new Promise<UploadResultJson[]>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: maxImageBytes, files: maxFiles, fields: 20, fieldSize: 1024 },
      });
    } catch (err) {
      reject(new HttpProblem(400, `The multipart body cannot be read: ${(err as Error).message}.`));
      return;
    }

    // Parsing goes on to the end of the body (later files are drained unread), so the
    // answer reaches a client that is still sending.
    const stop = (err: unknown) => {
      failure ??= err;
    };

    async function handleFile(fieldName: string, stream: Readable, info: FileInfo): Promise<UploadResultJson> {
      const fileName = info.filename ?? '';
      if (fieldName !== 'file') {
        stream.resume();
        return rejected(fileName, 'unexpected_field', `File parts must be named 'file'; this one is named '${fieldName}'.`);
      }
      await pool.acquire();
      try {
        let content: Buffer;
        try {
          content = await readAll(stream);
        } catch {
          // The body broke off mid-file; the parser's error says why.
          return notProcessed(fileName);
        }
        if ((stream as Readable & { truncated?: boolean }).truncated) {
          return rejected(fileName, 'too_large', `The file is larger than the ${maxImageBytes} bytes allowed per image.`);
        }
        if (failure !== undefined) return notProcessed(fileName);
        try {
          return { fileName, ...(await options.upload(fileName, content, label)) };
        } catch (err) {
          stop(err);
          return notProcessed(fileName);
        }
      } finally {
        pool.release();
      }
    }

    // Bound to the handler's async context: busboy emits from socket callbacks, where the
    // request id (for the gRPC calls started here) would otherwise be lost.
    parser.on('field', AsyncResource.bind((name, value, info) => {
      if (name !== 'label' || failure !== undefined) return; // other fields are ignored
      if (pending.length > 0) {
        stop(new HttpProblem(400, 'Send the label field before the file parts: it applies to the files that follow it.'));
      } else if (info.valueTruncated) {
        stop(new HttpProblem(400, 'The label field is too long.'));
      } else if (value !== '') {
        const refusal = options.checkLabel(value);
        if (refusal === undefined) label = value;
        else {
          const errors = [{ path: 'body.label', code: 'unknown_class', reason: refusal }];
          stop(new HttpProblem(400, refusal, { errors }));
        }
      }
    }));
    parser.on('file', AsyncResource.bind((name, stream, info) => {
      if (failure !== undefined) {
        stream.resume();
        return;
      }
      pending.push(handleFile(name, stream, info));
    }));
    parser.on('filesLimit', () => {
      stop(new HttpProblem(413, `At most ${maxFiles} files may be sent in one request; split the batch.`));
    });
    parser.on('error', (err: Error) => {
      stop(new HttpProblem(400, `The multipart body cannot be read: ${err.message}.`));
      void finish();
    });
    parser.on('close', () => void finish());

    let finished = false;
    async function finish() {
      if (finished) return;
      finished = true;
      const results = await Promise.all(pending);
      if (failure !== undefined) {
        // Report the files handled before the request was ended: some may be stored.
        const done = results.filter((r) => r.outcome !== 'rejected' || r.error?.code !== 'not_processed');
        if (failure instanceof HttpProblem && done.length > 0) {
          const { status, detail, options: problemOptions } = failure;
          reject(new HttpProblem(status, detail, { ...problemOptions, extensions: { results: done } }));
        } else {
          reject(failure);
        }
        return;
      }
      if (results.length === 0) {
        reject(new HttpProblem(400, "The request has no file part: send one or more images as 'file' parts."));
        return;
      }
      resolve(results);
    }

    // A client that goes away mid-body: end the parse (its file streams fail with it).
    req.once('close', () => {
      if (!req.complete) parser.destroy(new Error('the client aborted the request'));
    });
    req.pipe(parser);
  });
}
