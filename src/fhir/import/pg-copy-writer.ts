// The importer's batch writer on PostgreSQL: new resources through COPY (src/store/pg-copy.ts), those that already
// exist through the store's own upsert, so a re-import writes new versions as the API would.
import { PgCopyWriter } from '../../store/pg-copy.js';
import type { FhirService } from '../service.js';
import type { BatchWriter } from './importer.js';

export interface ClosableWriter {
  readonly write: BatchWriter;
  close(): Promise<void>;
}

export function pgCopyWriter(service: FhirService, connectionString: string): ClosableWriter {
  const copy = new PgCopyWriter(connectionString);
  return {
    write: async (inputs) => {
      const { existing } = await copy.copyFresh(inputs);
      if (existing.length) await service.store.writeBatch(existing);
    },
    close: () => copy.close(),
  };
}
