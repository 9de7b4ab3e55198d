import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../domain/clock.ts';
import { decideMfa, type MfaDecision, type MfaPolicy } from '../domain/mfa-policy.ts';
import type { SettingsService } from '../domain/settings.ts';
import type { UserRecord, UserStore } from '../stores/types.ts';
import { requestsMfa } from './acr.ts';
import { isInternalClient } from './internal-clients.ts';
import type { MfaState } from './mfa-state.ts';
import { userOfRequest } from './request-users.ts';

/** What a sign-in result carries once the second factor passed (see the login route). */
export interface MfaResult {
  accountId: string;
  /** Epoch seconds. */
  mfaAt: number;
}

export interface RequestFacts {
  user: UserRecord | null;
  clientId: string;
  clientMetadata: Record<string, unknown>;
  acrValues: unknown;
  claims: unknown;
  lastSecondFactorAt: number | undefined;
}

const decisionOfRequest = Symbol('twofold.mfaDecision');

/**
 * Gathers what the MFA policy needs (settings, the user, the application, the request,
 * the session's last second factor) and asks the domain. Used by the prompt checks while
 * the engine authorizes a request, and by the login route once a password is accepted.
 */
export function createMfaAssessor(deps: { users: UserStore; settings: SettingsService; mfaState: MfaState; clock: Clock }) {
  async function decide(facts: RequestFacts): Promise<MfaDecision> {
    if (!facts.user) return { action: 'deny' };
    const settings = await deps.settings.get();
    const policy = facts.clientMetadata['mfa_policy'] as MfaPolicy | undefined;
    const maxAge = facts.clientMetadata['mfa_max_age'] as number | undefined;
    return decideMfa({
      settings: { enabled: settings.enabled, defaultPolicy: settings.defaultPolicy },
      client: { mfaPolicy: policy, mfaMaxAge: maxAge, alwaysRequired: isInternalClient(facts.clientId) },
      user: { exempt: facts.user.mfa.exempt, disabled: facts.user.disabled, hasDevice: facts.user.mfa.device !== undefined },
      stepUp: requestsMfa(facts.acrValues, facts.claims),
      lastSecondFactorAt: facts.lastSecondFactorAt,
      now: Math.floor(deps.clock.now() / 1000),
    });
  }

  /** When the session last passed the second factor for this account, if it did. */
  async function sessionSecondFactorAt(sessionUid: string | undefined, accountId: string): Promise<number | undefined> {
    if (!sessionUid) return undefined;
    const record = await deps.mfaState.session.get(sessionUid);
    return record?.accountId === accountId ? record.mfaAt : undefined;
  }

  async function forRequest(ctx: KoaContextWithOIDC): Promise<MfaDecision> {
    const { session, client, params } = ctx.oidc;
    const accountId = session?.accountId;
    if (!accountId || !client) return { action: 'none' };
    const user = await userOfRequest(ctx, deps.users, accountId);
    // A sign-in that has just passed the second factor comes back with it in its result:
    // it is recorded on the session it now belongs to.
    const passed = (ctx.oidc.result as { twofold?: MfaResult } | undefined)?.twofold;
    let lastSecondFactorAt: number | undefined;
    if (passed?.accountId === accountId) {
      await deps.mfaState.session.put(session.uid, { accountId, mfaAt: passed.mfaAt });
      lastSecondFactorAt = passed.mfaAt;
    } else {
      lastSecondFactorAt = await sessionSecondFactorAt(session.uid, accountId);
    }
    return decide({
      user,
      clientId: client.clientId,
      clientMetadata: client.metadata() as Record<string, unknown>,
      acrValues: params?.acr_values,
      claims: ctx.oidc.claims,
      lastSecondFactorAt,
    });
  }

  return {
    decide,
    sessionSecondFactorAt,
    /** The decision for the request being authorized, computed once per request. */
    forRequest(ctx: KoaContextWithOIDC): Promise<MfaDecision> {
      // Kept on the request's own context, so it goes with the request and nothing outlives it.
      const held = ctx as KoaContextWithOIDC & { [decisionOfRequest]?: Promise<MfaDecision> };
      return (held[decisionOfRequest] ??= forRequest(ctx));
    },
  };
}

export type MfaAssessor = ReturnType<typeof createMfaAssessor>;
