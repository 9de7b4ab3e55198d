import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AuthMethod, MethodTimes } from '../domain/authentication.ts';
import type { OidcStateStore } from '../stores/types.ts';
import { isInternalClient } from './internal-clients.ts';
import type { MfaState } from './mfa-state.ts';

/** A sign-in session as twofold's own pages (the console, the account page) hold on to it. */
export interface LiveSession {
  /** The engine session's stable uid (its cookie id changes at every login; the uid does not). */
  uid: string;
  accountId: string;
  /** When each method was last presented in it. */
  methods: MethodTimes;
}

interface Authorization {
  grantId?: string;
  persistsLogout?: boolean;
}

/**
 * The engine's sign-in sessions, seen from twofold's own pages. Those pages keep a cookie
 * of their own (idle and absolute limits, a CSRF secret) that names the sign-in session it
 * came from; each request checks that session is still there, so whatever ends it (a
 * sign-out anywhere, a password change, a reset, disabling, an administrator ending the
 * user's sessions) ends the page's session too, on every node at once.
 */
export function createSignInSessions(deps: { provider: Provider; oidc: OidcStateStore; mfaState: MfaState }) {
  const { provider } = deps;

  /** The session with this uid, if it is still there and still this account's. */
  async function live(uid: string, accountId: string): Promise<LiveSession | undefined> {
    const [session, record] = await Promise.all([provider.Session.findByUid(uid), deps.mfaState.session.get(uid)]);
    if (!session || session.accountId !== accountId) return undefined;
    return { uid, accountId, methods: record?.accountId === accountId ? record.methods : {} };
  }

  return {
    live,

    /** The sign-in session of this browser (its session cookie), when someone is signed in with it. */
    async ofBrowser(ctx: Context, accountId: string): Promise<LiveSession | undefined> {
      const session = await provider.Session.get(ctx as never);
      if (!session.accountId || session.accountId !== accountId) return undefined;
      return live(session.uid, accountId);
    },

    /** The sign-in session of this browser, whoever is signed in with it. */
    async current(ctx: Context): Promise<LiveSession | undefined> {
      const session = await provider.Session.get(ctx as never);
      return session.accountId ? live(session.uid, session.accountId) : undefined;
    },

    /** Notes a second factor presented on one of twofold's own pages, in the session it belongs to. */
    async recordFactor(current: LiveSession, method: AuthMethod, at: number): Promise<LiveSession> {
      const methods = { ...current.methods, [method]: at };
      await deps.mfaState.session.put(current.uid, { accountId: current.accountId, methods });
      return { ...current, methods };
    },

    /**
     * Ends a sign-in session, as the engine's own sign-out does: the session, what twofold
     * recorded of it, and the grants (with their tokens) of twofold's own applications and
     * of every application whose tokens were to end with the session.
     */
    async end(uid: string): Promise<void> {
      const session = await provider.Session.findByUid(uid);
      if (session) {
        const authorizations = (session.authorizations ?? {}) as Record<string, Authorization>;
        const grants = Object.entries(authorizations)
          .filter(([clientId, { grantId, persistsLogout }]) => grantId && (isInternalClient(clientId) || !persistsLogout))
          .map(([, { grantId }]) => grantId!);
        const adapter = deps.oidc.adapterFor('Grant');
        await Promise.all(grants.map(async (grantId) => Promise.all([adapter.revokeByGrantId(grantId), adapter.destroy(grantId)])));
        await session.destroy();
      }
      await deps.mfaState.session.drop(uid);
    },
  };
}

export type SignInSessions = ReturnType<typeof createSignInSessions>;
