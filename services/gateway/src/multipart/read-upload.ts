// Streams a multipart upload with busboy into ONE UploadItems call: each `file` part is read
// into memory (at most MAX_IMAGE_BYTES) and queued for the gRPC stream; while `readAhead` files
// wait there, the next part is not read, so busboy and the socket apply backpressure.
// Results come back in the order the parts were sent.
import type { Request } from 'express';
import busboy, { type FileInfo } from 'busboy';
import { AsyncResource } from 'node:async_hooks';
import type { Readable } from 'node:stream';
import type { UploadFile } from '../clients/dataset.gateway.js';
import type { UploadResultJson } from '../openapi/schemas.js';
import { HttpProblem } from '../problem.js';
import { FileQueue } from './file-queue.js';

export interface ReadUploadOptions {
  maxImageBytes: number;
  maxFiles: number;
  /** Files read ahead of what the upload stream has taken. */
  readAhead: number;
  /** Started at the first file: sends what `files` yields; one result per file, in order. */
  uploadAll: (files: AsyncIterable<UploadFile>) => Promise<Array<Omit<UploadResultJson, 'fileName'>>>;
  /** Runs before the 'no file part' answer (e.g. so that a missing dataset is still a 404). */
  beforeNoFilesProblem?: () => Promise<unknown>;
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

interface Part {
  fileName: string;
  /** Decided here (not sent). */
  result?: UploadResultJson;
  /** Position in the upload stream. */
  sent?: number;
}

export function readUpload(req: Request, options: ReadUploadOptions): Promise<UploadResultJson[]> {
  const { maxImageBytes, maxFiles } = options;
  const parts: Part[] = [];
  const pending: Array<Promise<void>> = [];
  const queue = new FileQueue<UploadFile>(options.readAhead);
  let sent = 0;
  let call: Promise<Array<Omit<UploadResultJson, 'fileName'>>> | undefined;
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

    // busboy emits the next part only once this one's stream is consumed, so parts are
    // handled one at a time, in order.
    async function handleFile(part: Part, fieldName: string, stream: Readable): Promise<void> {
      if (fieldName !== 'file') {
        stream.resume();
        part.result = rejected(part.fileName, 'unexpected_field', `File parts must be named 'file'; this one is named '${fieldName}'.`);
        return;
      }
      if (!(await queue.waitForRoom())) {
        stream.resume();
        part.result = notProcessed(part.fileName);
        return;
      }
      let content: Buffer;
      try {
        content = await readAll(stream);
      } catch {
        // The body broke off mid-file; the parser's error says why.
        part.result = notProcessed(part.fileName);
        return;
      }
      if ((stream as Readable & { truncated?: boolean }).truncated) {
        part.result = rejected(part.fileName, 'too_large', `The file is larger than the ${maxImageBytes} bytes allowed per image.`);
        return;
      }
      if (failure !== undefined) {
        part.result = notProcessed(part.fileName);
        return;
      }
      part.sent = sent++;
      queue.push({ fileName: part.fileName, content, label });
      if (!call) {
        call = options.uploadAll(queue);
        call.catch((err: unknown) => {
          stop(err);
          queue.cancel();
        });
      }
    }

    // Bound to the handler's async context: busboy emits from socket callbacks, where the
    // request id (for the gRPC call started here) would otherwise be lost.
    parser.on('field', AsyncResource.bind((name, value, info) => {
      if (name !== 'label' || failure !== undefined) return; // other fields are ignored
      if (parts.length > 0) {
        stop(new HttpProblem(400, 'Send the label field before the file parts: it applies to the files that follow it.'));
      } else if (info.valueTruncated) {
        stop(new HttpProblem(400, 'The label field is too long.'));
      } else if (value !== '') {
        label = value; // the dataset service checks it against the classes
      }
    }));
    parser.on('file', AsyncResource.bind((name, stream, info: FileInfo) => {
      if (failure !== undefined) {
        stream.resume();
        return;
      }
      const part: Part = { fileName: info.filename ?? '' };
      parts.push(part);
      pending.push(handleFile(part, name, stream));
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
      await Promise.all(pending);
      queue.end();
      let stored: Array<Omit<UploadResultJson, 'fileName'>> = [];
      if (call) {
        try {
          stored = await call;
        } catch (err) {
          stop(err);
        }
      }
      const results = parts.map((part): UploadResultJson => {
        if (part.result) return part.result;
        const result = part.sent === undefined ? undefined : stored[part.sent];
        return result ? { fileName: part.fileName, ...result } : notProcessed(part.fileName);
      });
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
        try {
          await options.beforeNoFilesProblem?.();
        } catch (err) {
          reject(err);
          return;
        }
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
