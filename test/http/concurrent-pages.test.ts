import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone } from '../support/mfa.ts';
import {
  follow,
  formAction,
  secretOnPage,
  signIn,
  startAuthorization,
  UserAgent,
  type Page,
  type RelyingParty,
} from '../support/relying-party.ts';
import { createUser, newRealStores, type RealStores, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

const SIGN_INS = 50;

/** Every interaction uid a page names: in its own address and in its links and forms. */
function interactionUids(page: Page): string[] {
  const named = [page.url.pathname, ...[...page.html.matchAll(/\/interaction\/[A-Za-z0-9_-]+/g)].map((m) => m[0])];
  return [...new Set(named.map((path) => /\/interaction\/([A-Za-z0-9_-]+)/.exec(path)?.[1]).filter((uid) => uid !== undefined))];
}

interface Person {
  id: string;
  username: string;
  password: string;
  phone: Phone;
}

const credentialsOf = ({ username, password }: Person) => ({ username, password });

/**
 * Many people signing in at the same moment, each in a browser of its own: every page each
 * one receives must be its own, never another sign-in's and never an empty answer.
 */
function concurrentSignIns(where: string, skip: string | undefined, real: () => RealStores | undefined) {
  describe(`${SIGN_INS} simultaneous sign-ins ${where}`, { skip }, () => {
    const clock = createManualClock(Date.now());
    let server: TestServer;
    let rp: RelyingParty;
    let people: Person[];

    before(async () => {
      const stores = real();
      server = await startTestServer({ ...(stores ? { real: stores } : {}), clock });
      const redirect = 'http://127.0.0.1:9/cb';
      rp = (await registerApplication(server, { client_id: 'app', redirect_uris: [redirect], first_party: true, mfa_policy: 'required' }))
        .rp;
      people = await Promise.all(
        Array.from({ length: SIGN_INS }, async (_, i) => {
          const credentials = { username: `person-${i}`, password: `passphrase of person ${i}` };
          const { id } = await createUser(server, credentials);
          return { id, ...credentials, phone: new Phone(clock) };
        }),
      );
    });
    after(() => server.close());

    /** A wrong password: the login page comes back, naming this person and this sign-in. */
    async function wrongPassword(person: Person, pages: { kind: string; page: Page }[]) {
      const agent = new UserAgent();
      const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      pages.push({ kind: 'login', page: login });
      const refused = await agent.postForm(formAction(login, '/login'), { username: person.username, password: 'not my password' });
      pages.push({ kind: 'login-again', page: { url: login.url, status: refused.status, html: await refused.text() } });
    }

    it('gives each one its own login, registration and code pages and its own ID token', async () => {
      // Everyone registers at once; one step later everyone signs in again with a code at once.
      const signInAll = (registering: boolean) =>
        Promise.all(
          people.map(async (person) => {
            const pages: { kind: string; page: Page }[] = [];
            const observe = (kind: string, page: Page) => pages.push({ kind, page });
            if (registering) await wrongPassword(person, pages);
            const result = await signIn(new UserAgent(), rp, credentialsOf(person), {}, person.phone.app, observe);
            return { pages, result };
          }),
        );
      const firsts = await signInAll(true);
      clock.advance(30_000);
      const seconds = await signInAll(false);
      const runs = people.map((person, i) => ({
        person,
        pages: [...firsts[i]!.pages, ...seconds[i]!.pages],
        first: firsts[i]!.result,
        second: seconds[i]!.result,
      }));

      const secrets = new Set<string>();
      for (const { person, pages, first, second } of runs) {
        const who = person.username;
        assert.deepEqual(first.seen, ['login', 'register', 'backup-codes'], `${who}: the first sign-in registers`);
        assert.deepEqual(second.seen, ['login', 'code'], `${who}: the second sign-in asks for the code`);
        for (const { claims } of [first, second]) {
          assert.equal(claims.sub, person.id, `${who} receives an ID token of its own`);
          assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
        }
        const kindsBySignIn = new Map<string, string[]>();
        for (const { kind, page } of pages) {
          const uids = interactionUids(page);
          assert.equal(uids.length, 1, `${who}'s ${kind} page names one sign-in, not [${uids.join(', ')}]`);
          kindsBySignIn.set(uids[0]!, [...(kindsBySignIn.get(uids[0]!) ?? []), kind]);
          if (kind.startsWith('login')) assert.match(page.html, /name="password"/, `${who}'s ${kind} page is a login page`);
          if (kind === 'login-again') {
            assert.equal(page.status, 401);
            assert.match(page.html, new RegExp(`name="username" value="${who}"`), `${who}'s refused login keeps ${who}'s username`);
          }
          if (kind === 'register') secrets.add(secretOnPage(page.html)!);
        }
        // Three sign-ins of one person: each page belongs to the sign-in that asked for it.
        assert.deepEqual(
          [...kindsBySignIn.values()].map((kinds) => [...kinds].sort().join(' ')).sort(),
          ['login backup-codes register', 'login code', 'login login-again'].map((k) => k.split(' ').sort().join(' ')),
          `${who}'s pages, grouped by the sign-in they name`,
        );
      }
      assert.equal(secrets.size, SIGN_INS, 'every registration page shows a key of its own');
    });

    it('gives each one its own sign-out page, whose form signs that session out', async () => {
      clock.advance(30_000);
      const agents = await Promise.all(
        people.map(async (person) => {
          const agent = new UserAgent();
          await signIn(agent, rp, credentialsOf(person), {}, person.phone.app);
          return agent;
        }),
      );
      const outcomes = await Promise.all(
        agents.map(async (agent) => {
          // The engine's own pages: the sign-out question, then the signed-out page.
          const question = await follow(agent, `${server.issuer}/session/end`, 'never');
          const action = formAction(question, '/session/end/confirm');
          const xsrf = /name="xsrf" value="([^"]+)"/.exec(question.html)?.[1];
          assert.ok(xsrf, `the sign-out page carries its form token: ${question.status} ${question.html.slice(0, 200)}`);
          const confirmed = await agent.postForm(action, { xsrf, logout: 'yes' });
          const done = await follow(agent, new URL(confirmed.headers.get('location') ?? action, action), 'never');
          const again = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
          return { question, done, again };
        }),
      );
      for (const { question, done, again } of outcomes) {
        assert.equal(question.status, 200);
        assert.match(done.html, /Signed out/, "the form of this session's own page signed it out");
        assert.match(again.html, /name="password"/, 'signing in again asks for the password');
      }
    });
  });
}

concurrentSignIns('on the embedded stores', undefined, () => undefined);
concurrentSignIns('on Redis and MongoDB', realStoresSkip, () => newRealStores());
