import type { AuditLog, ClientStore, KeyStore, UserStore } from '../domain/ports.ts';
import type { Actor } from './administration.ts';
import { CLIENT_SECRET_PURPOSE } from './clients.ts';
import type { Clock } from './clock.ts';
import { sealedKeyId, type DataKeyring } from './data-key.ts';
import { TOTP_SECRET_PURPOSE } from './second-factor.ts';

/**
 * Re-seals every sealed secret under the newest data key (the first in DATA_KEY): TOTP
 * secrets, application secrets and the stored keys. Each value is replaced by one
 * compare-and-set, so a value that changed meanwhile (a new registration, a reset) is left
 * to its new owner, and nodes go on serving sign-ins throughout: every listed key still
 * opens the old values. Running it again goes on where it stopped: only values under an
 * older key are touched. Backup codes are keyed hashes, not sealed: they keep their key id
 * and stay valid while that key is listed, until the user makes new ones.
 */
export function createKeyRotation(deps: {
  users: UserStore;
  clients: ClientStore;
  keys: KeyStore;
  keyring: DataKeyring;
  audit: AuditLog;
  clock: Clock;
  /** The purpose each stored key was sealed for, by id. */
  keyPurposes: Record<string, string>;
}) {
  const { keyring } = deps;
  const stale = (sealed: string | undefined): sealed is string => sealed !== undefined && sealedKeyId(sealed) !== keyring.currentKeyId;
  const reseal = (sealed: string, purpose: string) => keyring.seal(keyring.open(sealed, purpose), purpose);

  return {
    async rotate(by: Actor) {
      const done = { users: 0, clients: 0, keys: 0, skipped: 0 };
      let after: string | undefined;
      do {
        const page = await deps.users.list({ limit: 500, ...(after === undefined ? {} : { after }) });
        for (const user of page.users) {
          let resealed = false;
          for (const app of user.mfa.apps ?? []) {
            const old = app.sealedSecret;
            if (!stale(old)) continue;
            if (await deps.users.resealDevice(user.id, app.id, old, reseal(old, TOTP_SECRET_PURPOSE))) resealed = true;
            else done.skipped++;
          }
          if (resealed) done.users++;
        }
        after = page.next;
      } while (after !== undefined);
      for (const client of await deps.clients.list()) {
        if (!stale(client.sealedSecret)) continue;
        if (await deps.clients.resealSecret(client.clientId, client.sealedSecret, reseal(client.sealedSecret, CLIENT_SECRET_PURPOSE)))
          done.clients++;
        else done.skipped++;
      }
      for (const { id, value } of await deps.keys.list()) {
        const purpose = deps.keyPurposes[id];
        if (!purpose || !stale(value)) continue;
        if (await deps.keys.replace(id, value, reseal(value, purpose))) done.keys++;
        else done.skipped++;
      }
      await deps.audit.record({
        at: new Date(deps.clock.now()),
        type: 'keys.rotated',
        outcome: 'success',
        ...by,
        reason: `to ${keyring.currentKeyId}: ${done.users} users, ${done.clients} clients, ${done.keys} keys`,
      });
      return { keyId: keyring.currentKeyId, resealed: done };
    },
  };
}

export type KeyRotation = ReturnType<typeof createKeyRotation>;
