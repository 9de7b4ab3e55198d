import type { KoaContextWithOIDC } from 'oidc-provider';
import { reportedAuthentication, type AuthMethod, type MethodTimes, type ReportedAuthentication } from '../domain/authentication.ts';
import { acceptedTimes, type FactorKind } from '../domain/factors.ts';
import type { Clock } from '../domain/clock.ts';
import type { MfaDecision, MfaPolicy } from '../domain/mfa-policy.ts';
import { policyForRequest, wantsKeysOnly, type AppPolicy, type SignInJourney } from '../domain/sign-in-journey.ts';
import type { UserStore } from '../domain/ports.ts';
import { requestedLevel } from './acr.ts';
import { CONSOLE_CLIENT_ID, isInternalClient } from './internal-clients.ts';
import type { MfaState } from './mfa-state.ts';
import { userOfRequest } from './request-users.ts';
import { deviceCookie } from './device-cookie.ts';

/** The application a request is for, whichever protocol it speaks. */
export interface RequestApplication {
  clientId: string;
  protocol: 'oidc' | 'saml';
  name: string;
  policy: AppPolicy;
}

/** A client that stands for another protocol's applications: the application a request is for. */
type OtherProtocol = (params: Record<string, unknown>) => Promise<RequestApplication | undefined>;

/** What a sign-in hands back to the engine beside its login: the methods it presented, when. */
export interface PresentedMethods {
  accountId: string;
  methods: MethodTimes;
}

/** What one authorization request was decided on, kept for the tokens it issues. */
interface Assessment {
  decision: MfaDecision;
  /** The methods the tokens may report: those of factors the application accepts. */
  methods: MethodTimes;
  mfaMaxAge: number | undefined;
  requestMaxAge: number | undefined;
  /** Everything the session presented, and the application as this request sees it (none without a session). */
  presented?: { methods: MethodTimes; app: AppPolicy };
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
export function createMfaAssessor(deps: { users: UserStore; journey: SignInJourney; mfaState: MfaState; clock: Clock }) {
  const nowSeconds = () => Math.floor(deps.clock.now() / 1000);

  // Clients that stand for applications of another protocol (the SAML front door): their
  // policy and name are those of the application the request is for. Set at start-up.
  const otherProtocols = new Map<string, OtherProtocol>();

  /**
   * The application a request is for: its id and protocol (as the audit log names it), the
   * name its pages show, and what it asks of the sign-in. For a client of another protocol,
   * the application its request names; one that cannot be found asks for the second factor
   * (fail closed).
   */
  async function applicationOf(
    client: { clientId: string; clientName?: string | undefined; metadata(): unknown },
    params: Record<string, unknown>,
  ): Promise<RequestApplication> {
    const { clientId } = client;
    const other = otherProtocols.get(clientId);
    if (other) {
      const app = await other(params);
      return app ?? { clientId, protocol: 'oidc', name: client.clientName ?? clientId, policy: { alwaysRequired: true } };
    }
    const metadata = client.metadata() as Record<string, unknown>;
    return {
      clientId,
      protocol: 'oidc',
      name: client.clientName ?? clientId,
      policy: {
        mfaPolicy: metadata['mfa_policy'] as MfaPolicy | undefined,
        mfaMaxAge: metadata['mfa_max_age'] as number | undefined,
        alwaysRequired: isInternalClient(clientId),
        adminsOnly: clientId === CONSOLE_CLIENT_ID,
        mfaFactors: metadata['mfa_factors'] as FactorKind[] | undefined,
        rememberDays: metadata['remember_device_days'] as number | undefined,
        passkeySignIn: metadata['passkey_sign_in'] === true,
      },
    };
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
    // The same result comes back again after a consent page (merged with it): then nothing
    // new was presented and the record is left as it is.
    let methods = await sessionMethods(session.uid, accountId);
    if (presented?.accountId === accountId) {
      const known = methods;
      methods = { ...methods, ...presented.methods };
      if (Object.entries(presented.methods).some(([method, at]) => known[method as AuthMethod] !== at)) {
        await deps.mfaState.session.put(session.uid, { accountId, methods });
      }
    }
    const level = requestedLevel(params?.acr_values, ctx.oidc.claims);
    const app = policyForRequest((await applicationOf(client, params ?? {})).policy, level);
    const maxAge = requestMaxAge(params?.max_age);
    const request = { stepUp: level !== undefined, maxAge, forced: false };
    const decision = await deps.journey.decide(user, app, request, methods, deviceCookie.read(ctx));
    // The tokens report only factors this application accepts.
    const reported = acceptedTimes(methods, await deps.journey.acceptedFor(app));
    const assessment = {
      decision,
      methods: reported,
      mfaMaxAge: app.mfaMaxAge,
      requestMaxAge: maxAge,
      phishingResistant: wantsKeysOnly(app),
      presented: { methods, app },
    };
    (ctx as Held)[assessedOfRequest] = assessment;
    return assessment;
  }

  /**
   * The session signed in with a passkey and no password, and this application does not
   * take a passkey instead of one: its login prompt asks for the password. (A sign-in
   * finishing now counts with what it presented.)
   */
  async function passwordMissing(ctx: KoaContextWithOIDC): Promise<boolean> {
    const { presented } = await assessmentOf(ctx);
    if (!presented) return false;
    const { methods, app } = presented;
    if (methods.pwd !== undefined || (methods.hwk === undefined && methods.swk === undefined)) return false;
    return !(await deps.journey.passkeyAllowed(app));
  }

  /** The request's assessment, computed once (the prompt checks all read it). Kept on the request's own context. */
  const assessmentOf = (ctx: KoaContextWithOIDC) => ((ctx as Held)[assessmentOfRequest] ??= assess(ctx as Held));

  return {
    applicationOf,
    passwordMissing,
    /** At start-up: requests of this client are for applications of another protocol, found by this. */
    standsFor(clientId: string, resolve: OtherProtocol) {
      otherProtocols.set(clientId, resolve);
    },
    sessionMethods,
    /** The decision for the request being authorized, computed once per request. */
    async forRequest(ctx: KoaContextWithOIDC): Promise<MfaDecision> {
      return (await assessmentOf(ctx)).decision;
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
