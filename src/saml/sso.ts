import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import * as oidc from 'openid-client';
import { AppError } from '../domain/errors.ts';
import type { SamlAppRecord } from '../domain/ports.ts';
import { policyForRequest, type AppPolicy, type SignInJourney } from '../domain/sign-in-journey.ts';
import type { SelfClient } from '../http/self-client.ts';
import { ACR_MFA, ACR_PHR } from '../oidc/acr.ts';
import { deviceCookie } from '../oidc/device-cookie.ts';
import { contextPlan, statedClass } from './authn-context.ts';
import { requestChecks, type SamlCommonDeps } from './deps.ts';
import { fromPost, fromRedirect, verifiedMessage, type Inbound } from './inbound.ts';
import { BINDING, CONTEXT, STATUS } from './names.ts';
import { signedErrorResponse, signedResponse, type StatusCode } from './outbound.ts';
import type { PendingSignIn, PendingSignIns } from './pending.ts';
import { nameIdFormatOf, readAuthnRequest, type AuthnRequest } from './requests.ts';
import { parseXml } from './xml.ts';

export interface SsoDeps extends SamlCommonDeps {
  journey: SignInJourney;
  pending: PendingSignIns;
  selfClient: SelfClient;
  log: Logger;
}

/** A refusal that has a trustworthy place to go: a signed error Response to the application's registered ACS. */
class SamlRefusal extends Error {
  readonly app: SamlAppRecord;
  readonly acsUrl: string;
  readonly status: StatusCode;
  readonly inResponseTo: string | undefined;
  readonly relayState: string | undefined;
  constructor(app: SamlAppRecord, acsUrl: string, status: StatusCode, inResponseTo: string | undefined, relayState: string | undefined) {
    super(status.message ?? status.second ?? status.top);
    this.app = app;
    this.acsUrl = acsUrl;
    this.status = status;
    this.inResponseTo = inResponseTo;
    this.relayState = relayState;
  }
}

/** What the engine's authorization for a SAML sign-in is checked against, per application. */
export const appPolicyOfSaml = (app: SamlAppRecord): AppPolicy => ({
  mfaPolicy: app.mfaPolicy,
  mfaMaxAge: app.mfaMaxAge,
  mfaFactors: app.mfaFactors,
  rememberDays: app.rememberDeviceDays,
  passkeySignIn: app.passkeySignIn === true,
  alwaysRequired: false,
});

/**
 * Single sign-on for SAML applications. An AuthnRequest (or an IdP-initiated start) is
 * checked and kept server side; the sign-in itself is the one journey of every protocol,
 * in the browser's one sign-in session: the request rides on an authorization of the
 * engine for twofold's SAML client, whose policy is the application's. When it returns,
 * the application's policy is checked again against what the session proved, and a signed
 * Response is posted to the registered ACS URL.
 */
export function createSso(deps: SsoDeps) {
  const ssoUrl = `${deps.issuer}/saml/sso`;
  const now = () => deps.clock.now();
  const checks = requestChecks(deps);

  const refusedToAcs =
    (app: SamlAppRecord, acsUrl: string, request: AuthnRequest | undefined, relayState: string | undefined) =>
    (second: string, message: string, top: StatusCode['top'] = STATUS.requester) =>
      new SamlRefusal(app, acsUrl, { top, second, message }, request?.id, relayState);

  /** The registered ACS URL the request names (by URL or index), or the default one. */
  function acsOf(app: SamlAppRecord, request: AuthnRequest): string | undefined {
    if (request.acsUrl !== undefined) return app.acsUrls.includes(request.acsUrl) ? request.acsUrl : undefined;
    // An index names the endpoint of that index in the application's metadata; registered
    // from fields, the URL at that position.
    if (request.acsIndex !== undefined) return app.acsUrls[app.acsIndexes ? app.acsIndexes.indexOf(request.acsIndex) : request.acsIndex];
    return app.acsUrls[0];
  }

  /** Reads, checks and keeps an AuthnRequest; the browser then goes to the sign-in. */
  async function receive(ctx: Context, inbound: Inbound) {
    // Parsed once unverified, only to find which application claims to send it; nothing
    // of it is acted on until its signature (when there is or must be one) is checked.
    const claimed = readAuthnRequest(parseXml(inbound.xml));
    const app = await deps.apps.findByEntityId(claimed.issuer);
    if (!app) throw new AppError('invalid_request', 'The application that sent this sign-in request is not registered here.');
    const acsUrl = acsOf(app, claimed);
    if (!acsUrl)
      throw new AppError('invalid_request', 'The sign-in request asks to send the answer to an address the application did not register.');
    const refuse = refusedToAcs(app, acsUrl, claimed, inbound.relayState);

    let request: AuthnRequest;
    try {
      request = readAuthnRequest(verifiedMessage(inbound, app.certificate, app.wantAuthnRequestsSigned));
    } catch (err) {
      if (err instanceof AppError) throw refuse(STATUS.requestDenied, err.message);
      throw err;
    }
    // What is acted on from here is the verified request; its ACS must still be the one checked.
    if (request.issuer !== app.entityId || acsOf(app, request) !== acsUrl) throw refuse(STATUS.requestDenied, 'the signed request differs');
    if (request.destination !== undefined && request.destination !== ssoUrl)
      throw refuse(STATUS.requestDenied, 'Destination is not this service');
    const untimely = checks.untimely(request.issueInstant);
    if (untimely) throw refuse(STATUS.requestDenied, untimely === 'future' ? 'IssueInstant is in the future' : 'the request has expired');
    if (request.protocolBinding !== undefined && request.protocolBinding !== BINDING.post) {
      throw refuse(STATUS.unsupportedBinding, 'answers are sent with the HTTP-POST binding only');
    }
    const format = nameIdFormatOf(request.nameIdFormat);
    if (format === undefined || (format !== 'any' && format !== app.nameIdFormat)) {
      throw refuse(STATUS.invalidNameIdPolicy, `this application is given NameIDs of the ${app.nameIdFormat} format`);
    }
    const plan = contextPlan(request.requestedContext);
    if (!plan.met) throw refuse(STATUS.noAuthnContext, 'the requested authentication context cannot be met', STATUS.responder);
    if (request.isPassive && request.forceAuthn) throw refuse(STATUS.noPassive, 'a new sign-in needs a page', STATUS.responder);
    // Each request is accepted once: its ID is held for as long as it could be valid.
    if (!(await checks.once('request', app.id, request.id))) {
      throw refuse(STATUS.requestDenied, 'this request was received already');
    }
    return begin(ctx, app, {
      requestId: request.id,
      acsUrl,
      relayState: inbound.relayState,
      forceAuthn: request.forceAuthn,
      isPassive: request.isPassive,
      wantsMfa: plan.wantsMfa,
      wantsPhr: plan.wantsPhr,
      passwordClassOnly: plan.passwordClassOnly,
      phrAllowed: plan.phrAllowed,
    });
  }

  /** Keeps the sign-in server side and sends the browser to the one sign-in of every protocol. */
  async function begin(
    ctx: Context,
    app: SamlAppRecord,
    request: Omit<PendingSignIn, 'appId' | 'createdAt' | 'verifier' | 'nonce'> & { isPassive: boolean },
  ) {
    const { isPassive, ...kept } = request;
    const state = randomBytes(24).toString('base64url');
    const pending: PendingSignIn = {
      ...kept,
      appId: app.id,
      createdAt: now(),
      verifier: oidc.randomPKCECodeVerifier(),
      nonce: oidc.randomNonce(),
    };
    await deps.pending.put(state, pending);
    const url = await deps.selfClient.authorizationUrl(
      { verifier: pending.verifier, nonce: pending.nonce, state },
      {
        ...(isPassive ? { prompt: 'none' } : request.forceAuthn ? { prompt: 'login' } : {}),
        ...(request.wantsPhr ? { acr_values: ACR_PHR } : request.wantsMfa ? { acr_values: ACR_MFA } : {}),
      },
    );
    ctx.status = 303;
    ctx.redirect(url.href);
  }

  /** The engine's answer: an assertion of what the session proved, or a SAML status why not. */
  async function complete(ctx: Context) {
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const pending = state ? await deps.pending.get(state) : undefined;
    // One answer per sign-in: the first callback claims it (a second, replayed, finds it gone).
    if (!pending || !(await deps.guard.acquire(`saml-answer:${state}`, 3600))) {
      throw new AppError('sign_in_expired', 'This sign-in has expired or was already finished. Start again from the application.');
    }
    await deps.pending.drop(state);
    const app = await deps.apps.find(pending.appId);
    if (!app || !app.acsUrls.includes(pending.acsUrl))
      throw new AppError('invalid_request', 'The application of this sign-in is no longer registered.');
    const refuse = (second: string, message: string, top: StatusCode['top'] = STATUS.responder) =>
      new SamlRefusal(app, pending.acsUrl, { top, second, message }, pending.requestId, pending.relayState);

    const error = typeof ctx.query.error === 'string' ? ctx.query.error : undefined;
    if (error) {
      if (['login_required', 'interaction_required', 'consent_required'].includes(error))
        throw refuse(STATUS.noPassive, 'signing in needs a page');
      throw refuse(STATUS.authnFailed, error === 'access_denied' ? 'the user cancelled the sign-in' : 'the sign-in did not complete');
    }
    let claims: oidc.IDToken;
    try {
      const tokens = await deps.selfClient.exchange(new URL(ctx.originalUrl, deps.issuer), {
        verifier: pending.verifier,
        nonce: pending.nonce,
        state,
      });
      claims = tokens.claims()!;
    } catch {
      throw refuse(STATUS.authnFailed, 'the sign-in did not complete');
    }
    const user = await deps.users.findById(claims.sub);
    if (!user || user.disabled) throw refuse(STATUS.authnFailed, 'the account is disabled');
    const presented = claims.acr === ACR_PHR ? 'phr' : claims.acr === ACR_MFA ? 'mfa' : 'password';
    const mfa = presented !== 'password';
    const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : 0;
    // The application's policy, checked again against what the session proved: the engine's
    // authorization cannot be steered to a weaker policy than this application's.
    // The factor the tokens reported stands for the session's: `email` for a mailed code,
    // `hwk` or `swk` for a security key or passkey, `otp` for the app's code or a backup
    // code (accepted wherever the app is).
    const stated = Array.isArray(claims.amr) ? claims.amr : [];
    const factor = (['email', 'hwk', 'swk'] as const).find((method) => stated.includes(method)) ?? 'totp';
    const decision = await deps.journey.decide(
      user,
      policyForRequest(appPolicyOfSaml(app), pending.wantsPhr ? 'phr' : undefined),
      { stepUp: pending.wantsMfa, forced: false },
      mfa ? { [factor]: authTime } : {},
      // A browser remembered for this application spares its factor here as it did at the sign-in.
      deviceCookie.read(ctx),
    );
    if (decision.action !== 'none') throw refuse(STATUS.noAuthnContext, 'the sign-in did not meet the application’s policy');
    if (pending.forceAuthn && authTime * 1000 < pending.createdAt - deps.clockSkewSeconds * 1000) {
      throw refuse(STATUS.authnFailed, 'the sign-in was not a new one');
    }
    const nameId = await deps.identity.nameIdOf(user, app);
    if (!nameId) throw refuse(STATUS.invalidNameIdPolicy, 'the user has no value for the application’s NameID format');
    const classRef = statedClass({ met: true, ...pending }, presented);
    const statedMethods =
      classRef !== CONTEXT.password && Array.isArray(claims.amr)
        ? claims.amr.filter((method): method is string => typeof method === 'string')
        : ['pwd'];
    const { current } = await deps.keys.get();
    const xml = signedResponse(
      { issuer: deps.entityId, destination: pending.acsUrl, inResponseTo: pending.requestId, audience: app.entityId, now: now() },
      {
        nameId,
        sessionIndex: String(claims.sid ?? state),
        authnInstant: authTime * 1000,
        classRef,
        // Beside the class, which factor: the RFC 8176 methods the tokens stated (docs/saml.md).
        attributes: [...deps.identity.attributesOf(user, app), { name: 'amr', nameFormat: 'basic', values: statedMethods }],
      },
      current,
    );
    await deps.audit.record({
      at: new Date(now()),
      type: 'saml.signed_in',
      outcome: 'success',
      userId: user.id,
      clientId: app.id,
      protocol: 'saml',
      reason: classRef === CONTEXT.phr ? 'phr' : classRef === CONTEXT.mfa ? 'mfa' : 'password',
      ...(classRef !== CONTEXT.password ? { factor } : {}),
      ip: ctx.ip,
      userAgent: ctx.get('user-agent') || undefined,
    });
    return postToAcs(ctx, app, pending.acsUrl, xml, pending.relayState);
  }

  /** The auto-submitting form of the HTTP-POST binding (a button without scripts). */
  async function postToAcs(ctx: Context, app: SamlAppRecord, acsUrl: string, xml: string, relayState: string | undefined, signedIn = true) {
    ctx.set('Cache-Control', 'no-store');
    await ctx.render('saml-post', {
      title: `Continue to ${app.name}`,
      appName: app.name,
      note: signedIn
        ? `You are signed in. Your browser goes back to ${app.name} now; if it does not, press Continue.`
        : `The sign-in did not complete. Your browser goes back to ${app.name} now, which says why; if it does not, press Continue.`,
      action: acsUrl,
      field: 'SAMLResponse',
      message: Buffer.from(xml, 'utf8').toString('base64'),
      relayState,
    });
  }

  /** Sends a refusal to the application when there is a trustworthy place, else lets the error page say it. */
  async function answerRefusal(ctx: Context, err: unknown) {
    if (!(err instanceof SamlRefusal)) throw err;
    deps.log.info({ event: 'saml.refused', app: err.app.id, status: err.status.second, reason: err.message }, 'SAML request refused');
    await deps.audit.record({
      at: new Date(now()),
      type: 'saml.refused',
      outcome: 'failure',
      clientId: err.app.id,
      protocol: 'saml',
      reason: err.status.second?.split(':').pop(),
      ip: ctx.ip,
      userAgent: ctx.get('user-agent') || undefined,
    });
    const { current } = await deps.keys.get();
    const xml = signedErrorResponse(
      { issuer: deps.entityId, destination: err.acsUrl, inResponseTo: err.inResponseTo, now: now() },
      err.status,
      current,
    );
    return postToAcs(ctx, err.app, err.acsUrl, xml, err.relayState, false);
  }

  return {
    /** GET (HTTP-Redirect) or POST (HTTP-POST) /saml/sso. */
    async sso(ctx: Context) {
      const inbound =
        ctx.method === 'POST'
          ? fromPost((ctx.request.body ?? {}) as Record<string, unknown>, 'SAMLRequest')
          : fromRedirect(ctx.querystring, 'SAMLRequest');
      return receive(ctx, inbound).catch((err) => answerRefusal(ctx, err));
    },

    /** IdP-initiated sign-in, for an application that allows it. */
    async start(ctx: Context, appId: string, relayState: string | undefined) {
      const app = await deps.apps.find(appId);
      if (!app) throw new AppError('not_found', 'There is no SAML application with this id.');
      if (!app.idpInitiated)
        throw new AppError('forbidden', `${app.name} is opened from its own address: it does not allow sign-in started here.`);
      if (relayState !== undefined && Buffer.byteLength(relayState) > 80)
        throw new AppError('invalid_request', 'RelayState is longer than 80 bytes');
      return begin(ctx, app, {
        acsUrl: app.acsUrls[0]!,
        relayState,
        forceAuthn: false,
        isPassive: false,
        wantsMfa: false,
        wantsPhr: false,
        passwordClassOnly: false,
        phrAllowed: true,
      });
    },

    async callback(ctx: Context) {
      return complete(ctx).catch((err) => answerRefusal(ctx, err));
    },

    /** The application a SAML sign-in under way is for (its policy and name), by the engine's `state`. */
    async appOf(state: unknown): Promise<SamlAppRecord | undefined> {
      const pending = typeof state === 'string' && state ? await deps.pending.get(state) : undefined;
      return pending ? ((await deps.apps.find(pending.appId)) ?? undefined) : undefined;
    },
  };
}

export type Sso = ReturnType<typeof createSso>;
