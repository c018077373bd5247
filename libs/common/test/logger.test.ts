import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, redactUrl, runWithRequestId } from '../src/index.js';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ service: 'svc', level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes JSON with service, ISO time, level name and the current request id', () => {
    const { logger, lines } = capture();
    runWithRequestId('rid-1', () => logger.info({ items: 3 }, 'import finished'));
    logger.debug('outside');
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(first.service, 'svc');
    assert.equal(first.level, 'info');
    assert.equal(first.msg, 'import finished');
    assert.equal(first.items, 3);
    assert.equal(first.requestId, 'rid-1');
    assert.match(String(first.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal((JSON.parse(lines[1]!) as Record<string, unknown>).requestId, undefined);
  });

  it('redacts secrets at the top level and one or two levels deep', () => {
    const { logger, lines } = capture();
    const secret = 's3cr3t-value';
    logger.info(
      {
        apiKey: secret,
        password: secret,
        config: { secretAccessKey: secret, accessKeyId: secret, api_key: secret, adminKey: secret, region: 'eu' },
        s3: { credentials: { secretAccessKey: secret, token: secret } },
        req: { method: 'GET', headers: { authorization: `Bearer ${secret}`, 'x-api-key': secret, accept: 'json' } },
        headers: { authorization: secret },
      },
      'secrets everywhere',
    );
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0]!, new RegExp(secret));
    const line = JSON.parse(lines[0]!) as {
      apiKey: string;
      config: { region: string; secretAccessKey: string };
      req: { method: string; headers: Record<string, string> };
    };
    assert.equal(line.apiKey, '[redacted]');
    assert.equal(line.config.secretAccessKey, '[redacted]');
    assert.equal(line.config.region, 'eu');
    assert.equal(line.req.headers.authorization, '[redacted]');
    assert.equal(line.req.headers['x-api-key'], '[redacted]');
    assert.equal(line.req.headers.accept, 'json');
    assert.equal(line.req.method, 'GET');
  });
});

describe('redactUrl', () => {
  it('hides the password of a connection URL', () => {
    assert.equal(redactUrl('postgres://u:secret@h/db'), 'postgres://u:***@h/db');
    assert.equal(redactUrl('postgres://u:p%40ss@h:5432/db?sslmode=require'), 'postgres://u:***@h:5432/db?sslmode=require');
    assert.equal(redactUrl('nats://u:pa@ss/w@h:4222'), 'nats://u:***@h:4222');
  });

  it('leaves URLs without a password alone', () => {
    for (const url of ['postgres://u@h/db', 'postgres://h:5432/db', 'http://127.0.0.1:9000/?a=b@c', 'not a url']) {
      assert.equal(redactUrl(url), url);
    }
  });
});
