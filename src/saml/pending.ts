import { z } from 'zod';
import type { OidcStateStore } from '../stores/types.ts';

/**
 * A SAML sign-in under way, kept server side (the protocol store) from the request until
 * the assertion is sent, under a random id that is also the state of the engine's
 * authorization it rides on. Read back through a schema, as any stored input.
 */
const pendingSchema = z.strictObject({
  appId: z.string().min(1),
  /** The AuthnRequest's ID; none for an IdP-initiated sign-in. */
  requestId: z.string().optional(),
  acsUrl: z.string().min(1),
  relayState: z.string().optional(),
  forceAuthn: z.boolean(),
  wantsMfa: z.boolean(),
  /** A security key or passkey was asked for (the phishing-resistant class). */
  wantsPhr: z.boolean().default(false),
  passwordClassOnly: z.boolean(),
  /** The phishing-resistant class may be stated (absent: as before it existed, no). */
  phrAllowed: z.boolean().default(false),
  /** When the request arrived (epoch ms): a forced sign-in must be later. */
  createdAt: z.number().int(),
  verifier: z.string().min(43),
  nonce: z.string().min(1),
});
export type PendingSignIn = z.infer<typeof pendingSchema>;

export function createPendingSignIns(oidc: OidcStateStore, ttlSeconds: number) {
  const adapter = oidc.adapterFor('TwofoldSamlRequest');
  return {
    put: (id: string, pending: PendingSignIn) => adapter.upsert(id, { ...pending }, ttlSeconds),
    async get(id: string): Promise<PendingSignIn | undefined> {
      const found = await adapter.find(id);
      const parsed = found ? pendingSchema.safeParse(found) : undefined;
      return parsed?.success ? parsed.data : undefined;
    },
    drop: (id: string) => adapter.destroy(id),
  };
}

export type PendingSignIns = ReturnType<typeof createPendingSignIns>;
