// Reads a small multipart batch of images fully into memory (for prediction, where nothing is
// stored): `file` parts only, each at most maxImageBytes, at most maxFiles. Any violation is a
// 4xx problem naming the file; the rest of the body is drained so the client gets the answer.
import type { Request } from 'express';
import busboy from 'busboy';
import type { Readable } from 'node:stream';
import { HttpProblem } from '../problem.js';

export interface ReadImage {
  fileName: string;
  content: Buffer;
}

export function readImages(req: Request, limits: { maxImageBytes: number; maxFiles: number }): Promise<ReadImage[]> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: limits.maxImageBytes, files: limits.maxFiles, fields: 20 } });
    } catch (err) {
      reject(new HttpProblem(400, `The multipart body cannot be read: ${(err as Error).message}.`));
      return;
    }
    const images: ReadImage[] = [];
    const reads: Array<Promise<void>> = [];
    let failure: HttpProblem | undefined;
    const fail = (problem: HttpProblem) => void (failure ??= problem);

    parser.on('file', (name: string, stream: Readable, info: { filename?: string }) => {
      const fileName = info.filename ?? '';
      if (name !== 'file' || failure) {
        if (name !== 'file') fail(new HttpProblem(400, `File parts must be named 'file'; '${fileName}' is named '${name}'.`));
        stream.resume();
        return;
      }
      const slot = images.push({ fileName, content: Buffer.alloc(0) }) - 1;
      reads.push(
        (async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          if ((stream as Readable & { truncated?: boolean }).truncated) {
            fail(
              new HttpProblem(413, `${fileName} is larger than the ${limits.maxImageBytes} bytes allowed per image.`, {
                errors: [{ fileName, code: 'too_large', reason: `larger than ${limits.maxImageBytes} bytes` }],
              }),
            );
          }
          images[slot] = { fileName, content: Buffer.concat(chunks) };
        })().catch(() => fail(new HttpProblem(400, 'The request body broke off mid-file.'))),
      );
    });
    parser.on('filesLimit', () => fail(new HttpProblem(413, `At most ${limits.maxFiles} images may be sent in one request.`)));
    parser.on('error', (err: Error) => {
      fail(new HttpProblem(400, `The multipart body cannot be read: ${err.message}.`));
      void finish();
    });
    parser.on('close', () => void finish());

    let finished = false;
    async function finish() {
      if (finished) return;
      finished = true;
      await Promise.all(reads);
      if (failure) reject(failure);
      else if (images.length === 0) reject(new HttpProblem(400, "The request has no file part: send one or more images as 'file' parts."));
      else resolve(images);
    }
    req.once('close', () => {
      if (!req.complete) parser.destroy(new Error('the client aborted the request'));
    });
    req.pipe(parser);
  });
}
