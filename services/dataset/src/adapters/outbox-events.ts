import { randomUUID } from 'node:crypto';
import { datasetEvents, enqueueEvent, enqueueEvents, outboxEvent, type OutboxEvent } from '@labelloop/events';
import { commonV1 } from '@labelloop/proto';
import type { Queryable } from '@labelloop/storage';
import type { Dataset, ImportRecord, Item } from '../domain/types.js';
import { sourceToProto, splitToProto } from '../grpc/enums.js';
import { SCHEMA } from './rows.js';

// The four events the dataset service emits, written to its outbox inside the caller's
// transaction (published by the OutboxRelay after commit, never if it rolls back).

function envelope() {
  return { eventId: randomUUID(), occurredAt: new Date() };
}

export function enqueueDatasetCreated(tx: Queryable, dataset: Dataset): Promise<string> {
  return enqueueEvent(tx, SCHEMA, datasetEvents.datasetCreated, {
    ...envelope(),
    datasetId: dataset.id,
    name: dataset.name,
    classes: dataset.classes,
  });
}

export function itemIngestedEvent(item: Item, importId: string | null): OutboxEvent {
  return outboxEvent(datasetEvents.itemIngested, {
    ...envelope(),
    datasetId: item.datasetId,
    itemId: item.id,
    sha256: item.sha256,
    importId: importId ?? '',
  });
}

/** `item` as it is after the change (its label set). */
export function itemLabeledEvent(item: Item, previousLabel: string | null): OutboxEvent {
  if (!item.label) throw new Error('itemLabeledEvent needs a labelled item');
  return outboxEvent(datasetEvents.itemLabeled, {
    ...envelope(),
    datasetId: item.datasetId,
    itemId: item.id,
    label: item.label.value,
    source: sourceToProto(item.label.source),
    actor: item.label.actor,
    version: item.labelVersion,
    split: splitToProto(item.split),
    previousLabel: previousLabel ?? '',
  });
}

/**
 * A label removed (model label withdrawn, item excluded): ItemLabeled with an empty label and no
 * source, so consumers that count human labels (the retrain policy) pass it by.
 */
/** `item` as it is after the removal; `actor` who removed the label. */
export function itemLabelRemovedEvent(item: Item, previousLabel: string, actor: string): OutboxEvent {
  return outboxEvent(datasetEvents.itemLabeled, {
    ...envelope(),
    datasetId: item.datasetId,
    itemId: item.id,
    label: '',
    source: commonV1.LabelSource.LABEL_SOURCE_UNSPECIFIED,
    actor,
    version: item.labelVersion,
    split: splitToProto(item.split),
    previousLabel,
  });
}

export async function enqueueItemIngested(tx: Queryable, item: Item, importId: string | null): Promise<string> {
  const event = itemIngestedEvent(item, importId);
  await enqueueEvents(tx, SCHEMA, [event]);
  return event.id;
}

export async function enqueueItemLabeled(tx: Queryable, item: Item, previousLabel: string | null): Promise<string> {
  const event = itemLabeledEvent(item, previousLabel);
  await enqueueEvents(tx, SCHEMA, [event]);
  return event.id;
}

/** Several events in one statement, published in the order given. */
export function enqueueMany(tx: Queryable, events: readonly OutboxEvent[]): Promise<void> {
  return enqueueEvents(tx, SCHEMA, events);
}

export function enqueueImportFinished(tx: Queryable, record: ImportRecord): Promise<string> {
  return enqueueEvent(tx, SCHEMA, datasetEvents.importFinished, {
    ...envelope(),
    datasetId: record.datasetId,
    importId: record.id,
    succeeded: record.status === 'SUCCEEDED',
    created: record.created,
    duplicates: record.duplicates,
    rejected: record.rejected,
  });
}
