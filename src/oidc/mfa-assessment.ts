import type { KoaContextWithOIDC } from 'oidc-provider';
import { reportedAuthentication, secondFactorAt, type MethodTimes, type ReportedAuthentication } from '../domain/authentication.ts';
import type { Clock } from '../domain/clock.ts';
import { decideMfa, type MfaDecision, type MfaPolicy } from '../domain/mfa-policy.ts';
import type { SettingsService } from '../domain/settings.ts';
import type { UserRecord, UserStore } from '../domain/ports.ts';
import { requestsMfa } from './acr.ts';
import { isInternalClient } from './internal-clients.ts';
import type { MfaState } from './mfa-state.ts';
import { userOfRequest } from './request-users.ts';

/** What a sign-in hands back to the engine beside its login: the methods it presented, when. */
export interface PresentedMethods {
  accountId: string;
  methods: MethodTimes;
}

export interface RequestFacts {
  user: UserRecord | null;
  clientId: string;
  clientMetadata: Record<string, unknown>;
  acrValues: unknown;
  claims: unknown;
  /** The request's `max_age` in seconds (see `requestMaxAge`). */
  requestMaxAge: number | undefined;
  lastSecondFactorAt: number | undefined;
}

/** What one authorization request was decided on, kept for the tokens it issues. */
interface Assessment {
  decision: MfaDecision;
  methods: MethodTimes;
  mfaMaxAge: number | undefined;
  requestMaxAge: number | undefined;
}

const assessmentOfRequest = Symbol('twofold.assessment');
const assessedOfRequest = Symbol('twofold.assessed');
type Held = KoaContextWithOIDC & { [assessmentOfRequest]?: Promise<Assessment>; [assessedOfRequest]?: Assessment };

/** A `max_age` parameter in seconds, when it is one (the engine has checked its form). */
export function requestMaxAge(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  return typeof text === 'string' && /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

/**
 * Gathers what the MFA policy needs (settings, the user, the application, the request,
 * the session's last second factor) and asks the domain. Used by the prompt checks while
 * the engine authorizes a request, and by the login route once a password is accepted.
 * Once no prompt is needed, it also says what the tokens of the request may claim.
 */
export function createMfaAssessor(deps: { users: UserStore; settings: SettingsService; mfaState: MfaState; clock: Clock }) {
  const nowSeconds = () => Math.floor(deps.clock.now() / 1000);

  async function decide(facts: RequestFacts): Promise<MfaDecision> {
    if (!facts.user) return { action: 'deny' };
    const settings = await deps.settings.get();
    const policy = facts.clientMetadata['mfa_policy'] as MfaPolicy | undefined;
    const maxAge = facts.clientMetadata['mfa_max_age'] as number | undefined;
    return decideMfa({
      settings: { enabled: settings.enabled, defaultPolicy: settings.defaultPolicy },
      client: { mfaPolicy: policy, mfaMaxAge: maxAge, alwaysRequired: isInternalClient(facts.clientId) },
      requestMaxAge: facts.requestMaxAge,
      user: { exempt: facts.user.mfa.exempt, disabled: facts.user.disabled, hasDevice: facts.user.mfa.device !== undefined },
      stepUp: requestsMfa(facts.acrValues, facts.claims),
      lastSecondFactorAt: facts.lastSecondFactorAt,
      now: nowSeconds(),
    });
  }

  /** When each method was last presented in the session, for this account ({} when none). */
  async function sessionMethods(sessionUid: string | undefined, accountId: string): Promise<MethodTimes> {
    if (!sessionUid) return {};
    const record = await deps.mfaState.session.get(sessionUid);
    return record?.accountId === accountId ? record.methods : {};
  }

  async function assess(ctx: KoaContextWithOIDC): Promise<Assessment> {
    const { session, client, params } = ctx.oidc;
    const accountId = session?.accountId;
    if (!accountId || !client) return { decision: { action: 'none' }, methods: {}, mfaMaxAge: undefined, requestMaxAge: undefined };
    const user = await userOfRequest(ctx, deps.users, accountId);
    // A sign-in that has just finished comes back with the methods it presented: they are
    // recorded on the session it now belongs to, beside what the session proved before.
    const presented = (ctx.oidc.result as { twofold?: PresentedMethods } | undefined)?.twofold;
    let methods = await sessionMethods(session.uid, accountId);
    if (presented?.accountId === accountId) {
      methods = { ...methods, ...presented.methods };
      await deps.mfaState.session.put(session.uid, { accountId, methods });
    }
    const metadata = client.metadata() as Record<string, unknown>;
    const maxAge = requestMaxAge(params?.max_age);
    const decision = await decide({
      user,
      clientId: client.clientId,
      clientMetadata: metadata,
      acrValues: params?.acr_values,
      claims: ctx.oidc.claims,
      requestMaxAge: maxAge,
      lastSecondFactorAt: secondFactorAt(methods),
    });
    const assessment = { decision, methods, mfaMaxAge: metadata['mfa_max_age'] as number | undefined, requestMaxAge: maxAge };
    (ctx as Held)[assessedOfRequest] = assessment;
    return assessment;
  }

  return {
    decide,
    sessionMethods,
    /** The decision for the request being authorized, computed once per request. */
    async forRequest(ctx: KoaContextWithOIDC): Promise<MfaDecision> {
      // Kept on the request's own context, so it goes with the request and nothing outlives it.
      const held = ctx as Held;
      return (await (held[assessmentOfRequest] ??= assess(held))).decision;
    },
    /**
     * What the tokens of a request that needs no more prompts may claim (SPEC 3.7). Read
     * when the engine accepts the authorization, after every check has run; a request
     * that was not assessed (which the prompt checks make impossible) reports the password
     * alone.
     */
    reportedFor(ctx: KoaContextWithOIDC, engineLoginAt: number): ReportedAuthentication {
      const assessed = (ctx as Held)[assessedOfRequest];
      if (!assessed) return { level: 'password', amr: ['pwd'], authTime: engineLoginAt };
      return reportedAuthentication({ ...assessed, now: nowSeconds(), fallbackAuthTime: engineLoginAt });
    },
  };
}

export type MfaAssessor = ReturnType<typeof createMfaAssessor>;
