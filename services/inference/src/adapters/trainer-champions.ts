import type { GrpcClient } from '@labelloop/common';
import { trainingV1 } from '@labelloop/proto';
import type { ChampionSource } from '../domain/champions.js';
import type { ModelRef } from '../domain/types.js';
import type { DatasetClient } from './dataset-scoring.js';

// Each dataset's champion: datasets from the dataset service (every page), models from the trainer.
// ListModels has no status filter, so the champion is picked from the dataset's list.

export type TrainerClient = GrpcClient<typeof trainingV1.TrainerServiceDefinition>;

const PAGE = 100;

export class TrainerChampionSource implements ChampionSource {
  constructor(
    private readonly dataset: DatasetClient,
    private readonly trainer: TrainerClient,
  ) {}

  async *datasetIds(): AsyncIterable<string> {
    let cursor = '';
    do {
      const page = await this.dataset.listDatasets({ limit: PAGE, cursor });
      for (const d of page.datasets) yield d.id;
      cursor = page.nextCursor;
    } while (cursor);
  }

  async champion(datasetId: string): Promise<ModelRef | undefined> {
    const { models } = await this.trainer.listModels({ datasetId });
    const champion = models.find((m) => m.status === trainingV1.ModelStatus.MODEL_STATUS_CHAMPION);
    return champion && { datasetId, modelId: champion.id, version: champion.version, artifactPrefix: champion.artifactPrefix };
  }
}
