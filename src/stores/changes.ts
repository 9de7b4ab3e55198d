import type { ClientStore } from './types.ts';

/**
 * A client store that tells every node when an application changes, so the copies the
 * nodes keep for the engine (oidc/client-adapter.ts) are dropped at once. When the news
 * cannot be sent (Redis away), the write still stands and the copies lapse by themselves
 * within seconds.
 */
export function announcingClientStore(store: ClientStore, announce: () => Promise<void>): ClientStore {
  const tell = () => announce().catch(() => {});
  const announced =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const result = await write(...args);
      await tell();
      return result;
    };
  return {
    ...store,
    create: announced(store.create),
    updateMetadata: announced(store.updateMetadata),
    setSecret: announced(store.setSecret),
    delete: announced(store.delete),
    importClient: announced(store.importClient),
  };
}
