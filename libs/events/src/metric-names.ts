// Names of the metrics @labelloop/events defines, in one place (labelloop_<thing>_<unit>).

/** Gauge {schema}: outbox rows not yet published. */
export const OUTBOX_PENDING = 'labelloop_outbox_pending';
/** Counter {schema}: outbox rows published to JetStream. */
export const OUTBOX_PUBLISHED_TOTAL = 'labelloop_outbox_published_total';
/** Counter {schema}: failed publish attempts (each is retried). */
export const OUTBOX_PUBLISH_ERRORS_TOTAL = 'labelloop_outbox_publish_errors_total';
