import type { ChangeTopic, ClientStore } from '../domain/ports.ts';

/**
 * Who listens for changes of which topic (this node's copies of the settings and of the
 * applications). `tell(topic)` calls that topic's listeners; `tell()` calls them all.
 */
export function createChangeListeners() {
  const listeners: { topic: ChangeTopic; listener: () => void }[] = [];
  return {
    tell(topic?: string) {
      for (const entry of listeners) if (topic === undefined || entry.topic === topic) entry.listener();
    },
    onChanged(topic: ChangeTopic, listener: () => void) {
      listeners.push({ topic, listener });
    },
  };
}

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
