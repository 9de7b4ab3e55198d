import Router from '@koa/router';
import type { Administration } from '../../domain/administration.ts';
import type { Clock } from '../../domain/clock.ts';
import type { DataKeyring } from '../../domain/data-key.ts';
import type { SettingsCheck } from '../settings-check.ts';
import type { SignInSessions } from '../../oidc/sign-in-sessions.ts';
import type { UserStore } from '../../domain/ports.ts';
import { mountConsoleClients } from './clients.ts';
import { mountConsoleSamlApps } from './saml-apps.ts';
import { createConsoleSession } from './session.ts';
import { mountConsoleSettingsAndAudit } from './settings-audit.ts';
import { mountConsoleUsers } from './users.ts';

/**
 * The web console at /admin, for administrators: users, applications, settings and the
 * audit log, over the same administration service as the admin API. Its own sign-in and
 * callback come first; every other page is behind the administrator guard.
 */
export function createConsoleRouters(deps: {
  issuer: string;
  localOrigin: () => string | undefined;
  users: UserStore;
  administration: Administration;
  sessions: SignInSessions;
  clock: Clock;
  keyring: DataKeyring;
  checkSettings: SettingsCheck;
  idleMinutes: number;
  maxHours: number;
  bodyLimit: number;
}) {
  const session = createConsoleSession(deps);
  const pages = new Router({ prefix: '/admin' });
  pages.use(session.guard);
  pages.get('/', (ctx) => ctx.redirect('/admin/users'));
  mountConsoleUsers(pages, deps.administration);
  mountConsoleClients(pages, deps.administration, deps.issuer);
  mountConsoleSamlApps(pages, deps.administration, deps.issuer);
  mountConsoleSettingsAndAudit(pages, deps.administration, deps.checkSettings);
  pages.post('/sign-out', async (ctx) => {
    await session.signOut(ctx);
    ctx.status = 303;
    ctx.redirect('/admin/signed-out');
  });
  session.router.get('/signed-out', (ctx) =>
    ctx.render('signed-out', {
      title: 'Signed out',
      message: 'You are signed out of the console and of your sign-in. Signing in again asks for your password and a code.',
      signInHref: '/admin/',
    }),
  );
  return [session.router, pages];
}
