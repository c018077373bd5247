// Server-sent events framing: SseStream on a real express server read back over real HTTP by
// the same parser the retrain command uses; heartbeats; a client that goes away is noticed.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import express from 'express';
import { readSse } from '../src/cli/sse-reader.js';
import { endAllEventStreams, formatEvent, SseStream } from '../src/sse.js';

let server: Server;
let baseUrl: string;
let clientGone: Promise<void>;
let noticeClientGone: () => void;

before(async () => {
  clientGone = new Promise((resolve) => (noticeClientGone = resolve));
  const app = express();
  app.get('/two-events', async (_req, res) => {
    const sse = new SseStream(res, 40);
    await sse.send('progress', { epoch: 1, loss: 0.5 });
    await new Promise((resolve) => setTimeout(resolve, 150)); // room for heartbeats
    await sse.send('end', { status: 'succeeded', note: 'line one\nline two' }, '7');
    sse.end();
  });
  app.get('/forever', async (_req, res) => {
    const sse = new SseStream(res, 1000);
    await sse.send('progress', { epoch: 1 });
    sse.signal.addEventListener('abort', () => noticeClientGone());
  });
  app.get('/until-shutdown', async (_req, res) => {
    await new SseStream(res, 1000).send('progress', { epoch: 2 });
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

test('formatEvent: event line, one data line of JSON, blank line; ids when given', () => {
  assert.equal(formatEvent('progress', { a: 1 }), 'event: progress\ndata: {"a":1}\n\n');
  assert.equal(formatEvent('end', 'x\ny', '3'), 'id: 3\nevent: end\ndata: "x\\ny"\n\n');
  assert.throws(() => formatEvent('bad\nname', {}), /one line/);
});

test('a stream over HTTP: headers, events in order, heartbeat comments skipped by the reader', async () => {
  const response = await fetch(`${baseUrl}/two-events`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(response.headers.get('cache-control'), 'no-cache, no-transform');
  const raw = await response.text();
  assert.match(raw, /^event: progress\ndata: \{"epoch":1,"loss":0.5\}\n\n(: heartbeat\n\n)+id: 7\nevent: end\n/);

  const events = [];
  for await (const event of readSse([new TextEncoder().encode(raw)])) events.push(event);
  assert.deepEqual(events, [
    { event: 'progress', data: '{"epoch":1,"loss":0.5}' },
    { event: 'end', data: '{"status":"succeeded","note":"line one\\nline two"}', id: '7' },
  ]);
});

test('the reader copes with lines split across chunks, CRLF and multi-line data', async () => {
  const text = 'event: a\r\ndata: {"x":\r\ndata: 1}\r\n\r\n: comment\n\ndata: plain\n\n';
  const encoder = new TextEncoder();
  const chunks = [...text].map((char) => encoder.encode(char)); // one character per chunk
  const events = [];
  for await (const event of readSse(chunks)) events.push(event);
  assert.deepEqual(events, [
    { event: 'a', data: '{"x":\n1}' },
    { event: 'message', data: 'plain' },
  ]);
});

test('a client that disconnects aborts the stream’s signal (so the gRPC stream behind it is cancelled)', async () => {
  const aborter = new AbortController();
  const response = await fetch(`${baseUrl}/forever`, { signal: aborter.signal });
  const reader = readSse(response.body!)[Symbol.asyncIterator]();
  const first = await reader.next();
  assert.equal(first.value?.event, 'progress');
  aborter.abort();
  await assert.rejects(reader.next());
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('server never noticed')), 5000));
  await Promise.race([clientGone, timeout]);
});

test('a shutdown ends every open stream cleanly (the client sees the end of the body)', async () => {
  const response = await fetch(`${baseUrl}/until-shutdown`);
  const reader = readSse(response.body!)[Symbol.asyncIterator]();
  assert.equal((await reader.next()).value?.event, 'progress');
  assert.equal(endAllEventStreams(), 1);
  assert.equal((await reader.next()).done, true);
  assert.equal(endAllEventStreams(), 0);
});
