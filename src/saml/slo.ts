import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import { AppError } from '../domain/errors.ts';
import type { SamlAppRecord } from '../domain/ports.ts';
import type { SignInSessions } from '../oidc/sign-in-sessions.ts';
import type { OidcStateStore } from '../stores/types.ts';
import { requestChecks, type SamlCommonDeps } from './deps.ts';
import { fromPost, fromRedirect, verifiedMessage, type Inbound } from './inbound.ts';
import { STATUS } from './names.ts';
import { logoutResponse, redirectUrl, signXmlMessage, type StatusCode } from './outbound.ts';
import { readLogoutRequest, type LogoutRequest } from './requests.ts';
import { parseXml } from './xml.ts';

export interface SloDeps extends SamlCommonDeps {
  sessions: SignInSessions;
  oidc: OidcStateStore;
}

const pendingLogoutSchema = z.strictObject({
  appId: z.string().min(1),
  requestId: z.string().min(1),
  nameId: z.string().min(1),
  relayState: z.string().optional(),
});

/**
 * Single logout started by an application (front channel): its signed LogoutRequest ends
 * the browser's sign-in session when it names that session's user, and a signed
 * LogoutResponse goes back over the binding the request came by. A request that came by
 * HTTP-POST from the application's site carries none of twofold's cookies (they are
 * SameSite=Lax), so it is checked, kept a few minutes server side, and the browser is sent
 * on to this site's own address, where the session is seen.
 */
export function createSlo(deps: SloDeps) {
  const sloUrl = `${deps.issuer}/saml/slo`;
  const pendingLogouts = deps.oidc.adapterFor('TwofoldSamlLogout');
  const now = () => deps.clock.now();
  const checks = requestChecks(deps);

  async function verified(inbound: Inbound): Promise<{ app: SamlAppRecord; request: LogoutRequest }> {
    const claimed = readLogoutRequest(parseXml(inbound.xml));
    const app = await deps.apps.findByEntityId(claimed.issuer);
    if (!app) throw new AppError('invalid_request', 'The application that sent this sign-out request is not registered here.');
    if (!app.certificate) {
      throw new AppError('invalid_request', `${app.name} has no certificate registered, so its sign-out requests cannot be checked.`);
    }
    const request = readLogoutRequest(verifiedMessage(inbound, app.certificate, true));
    if (request.issuer !== app.entityId) throw new AppError('invalid_request', 'The signed request differs.');
    if (request.destination !== undefined && request.destination !== sloUrl)
      throw new AppError('invalid_request', 'The request is not for this service.');
    if (checks.untimely(request.issueInstant)) {
      throw new AppError(
        'invalid_request',
        'The sign-out request has expired, or comes from a clock far ahead. Try again from the application.',
      );
    }
    if (!(await checks.once('logout', app.id, request.id))) {
      throw new AppError('invalid_request', 'This sign-out request was received already.');
    }
    return { app, request };
  }

  /** Ends the browser's session if it is the named user's, and answers the application. */
  async function finish(
    ctx: Context,
    app: SamlAppRecord,
    request: Pick<LogoutRequest, 'id' | 'nameId'>,
    binding: Inbound['binding'],
    relayState: string | undefined,
  ) {
    const session = await deps.sessions.current(ctx);
    let status: StatusCode = { top: STATUS.success };
    if (session) {
      const user = await deps.users.findById(session.accountId);
      const nameId = user ? await deps.identity.nameIdOf(user, app) : undefined;
      if (nameId?.value === request.nameId) {
        await deps.sessions.end(session.uid);
        await deps.audit.record({
          at: new Date(now()),
          type: 'saml.signed_out',
          outcome: 'success',
          userId: session.accountId,
          clientId: app.id,
          protocol: 'saml',
          ip: ctx.ip,
        });
      } else {
        status = { top: STATUS.requester, second: STATUS.requestDenied, message: 'this browser is signed in as someone else' };
      }
    }
    if (!app.sloUrl) {
      return ctx.render('signed-out', {
        title: 'Signed out',
        message: `You are signed out of ${app.name}. Signing in again asks for your password, and a code where the application needs one.`,
      });
    }
    const { current } = await deps.keys.get();
    const response = logoutResponse({ issuer: deps.entityId, destination: app.sloUrl, inResponseTo: request.id, now: now() }, status);
    if (binding === 'redirect') {
      ctx.status = 303;
      return ctx.redirect(redirectUrl(app.sloUrl, 'SAMLResponse', response.xml, relayState, current));
    }
    return ctx.render('saml-post', {
      title: `Back to ${app.name}`,
      appName: app.name,
      note: `You are signed out. Your browser goes back to ${app.name} now; if it does not, press Continue.`,
      action: app.sloUrl,
      field: 'SAMLResponse',
      message: Buffer.from(signXmlMessage(response.xml, 'LogoutResponse', response.id, current), 'utf8').toString('base64'),
      relayState,
    });
  }

  return {
    /** GET (HTTP-Redirect) or POST (HTTP-POST) /saml/slo. */
    async slo(ctx: Context) {
      if (ctx.method === 'GET') {
        const inbound = fromRedirect(ctx.querystring, 'SAMLRequest');
        const { app, request } = await verified(inbound);
        return finish(ctx, app, request, 'redirect', inbound.relayState);
      }
      const inbound = fromPost((ctx.request.body ?? {}) as Record<string, unknown>, 'SAMLRequest');
      const { app, request } = await verified(inbound);
      const id = randomBytes(24).toString('base64url');
      await pendingLogouts.upsert(
        id,
        {
          appId: app.id,
          requestId: request.id,
          nameId: request.nameId,
          ...(inbound.relayState !== undefined ? { relayState: inbound.relayState } : {}),
        },
        300,
      );
      ctx.status = 303;
      ctx.redirect(`/saml/slo/finish?id=${id}`);
    },

    /** The second half of a sign-out that came by HTTP-POST, on this site's own address. */
    async finishPosted(ctx: Context) {
      const id = typeof ctx.query.id === 'string' ? ctx.query.id : '';
      const found = id ? await pendingLogouts.find(id) : undefined;
      const parsed = found ? pendingLogoutSchema.safeParse(found) : undefined;
      if (!parsed?.success)
        throw new AppError('sign_in_expired', 'This sign-out has expired or was already finished. Start again from the application.');
      await pendingLogouts.destroy(id);
      const app = await deps.apps.find(parsed.data.appId);
      if (!app) throw new AppError('invalid_request', 'The application of this sign-out is no longer registered.');
      return finish(ctx, app, { id: parsed.data.requestId, nameId: parsed.data.nameId }, 'post', parsed.data.relayState);
    },
  };
}

export type Slo = ReturnType<typeof createSlo>;
