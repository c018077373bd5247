// Server-sent events (text/event-stream) on an express response: named events with JSON
// data, a comment line as heartbeat so proxies and clients keep an idle stream open, and
// backpressure (a slow client pauses the writer instead of growing a buffer).
import { once } from 'node:events';
import type { Response } from 'express';

export const SSE_CONTENT_TYPE = 'text/event-stream';

// Streams open in this process: a shutdown ends them (clients reconnect, to another replica)
// instead of waiting for runs that may take hours.
const open = new Set<SseStream>();

/** Ends every open event stream; returns how many there were. */
export function endAllEventStreams(): number {
  const count = open.size;
  for (const stream of [...open]) stream.end();
  return count;
}

/** One event as it travels: `event: <name>`, then one `data:` line per line of the JSON. */
export function formatEvent(name: string, data: unknown, id?: string): string {
  if (/[\r\n]/.test(name) || (id !== undefined && /[\r\n]/.test(id))) throw new Error('SSE event names and ids are one line');
  const lines = JSON.stringify(data)
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${name}\n${lines}\n`;
}

export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private readonly aborter = new AbortController();

  /** Sends the headers at once (the client sees the stream open) and starts the heartbeat. */
  constructor(
    private readonly res: Response,
    heartbeatMs: number,
  ) {
    res.status(200);
    res.setHeader('Content-Type', `${SSE_CONTENT_TYPE}; charset=utf-8`);
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // nginx and similar proxies buffer responses unless told not to.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    this.heartbeat = setInterval(() => void this.write(': heartbeat\n\n'), heartbeatMs);
    this.heartbeat.unref();
    open.add(this);
    res.once('close', () => {
      open.delete(this);
      clearInterval(this.heartbeat);
      this.aborter.abort();
    });
  }

  /** Aborted when the client goes away (or the stream is ended). */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  async send(name: string, data: unknown, id?: string): Promise<void> {
    await this.write(formatEvent(name, data, id));
  }

  end(): void {
    open.delete(this);
    clearInterval(this.heartbeat);
    if (!this.res.writableEnded) this.res.end();
  }

  private async write(chunk: string): Promise<void> {
    if (this.aborter.signal.aborted || this.res.writableEnded) return;
    if (!this.res.write(chunk)) {
      await once(this.res, 'drain', { signal: this.aborter.signal }).catch(() => {});
    }
  }
}
