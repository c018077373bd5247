import { NotFoundError } from '@labelloop/common';

// Things that belong to a soft-deleted dataset (imports, scoring jobs) are hidden with it: the
// dataset's NOT_FOUND is rethrown as the child's own, so nothing reveals the dataset still exists.

export async function hiddenAs<T>(datasetLookup: Promise<T>, message: string): Promise<T> {
  try {
    return await datasetLookup;
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(message);
    throw err;
  }
}
