import { patternSchema } from '@labelloop/common';
import { z } from 'zod';

// The environment variables every service that publishes or consumes events reads, as one zod
// fragment to spread into its config schema.

const NATS_URL_REQUIRED = 'required: the NATS server URL, e.g. nats://127.0.0.1:4222';

export const eventsEnvSchema = z.object({
  /** NATS server(s), e.g. nats://127.0.0.1:4222 (comma-separated for a cluster). Required. */
  NATS_URL: z.string({ error: NATS_URL_REQUIRED }).trim().min(1, NATS_URL_REQUIRED),
  /** JetStream stream holding the events (created when missing); work queues use <stream>_WORK. */
  EVENTS_STREAM: patternSchema('LABELLOOP', 'a stream name (A-Z a-z 0-9 _ -)', /^[A-Za-z0-9_-]+$/),
  /** Installation prefix of event subjects: <prefix>.item.labeled etc. */
  EVENTS_SUBJECT_PREFIX: patternSchema(
    'labelloop',
    'dot-separated tokens without wildcards',
    /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
  ),
});
