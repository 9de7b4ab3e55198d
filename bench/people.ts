import { systemClock } from '../src/domain/clock.ts';
import { Phone } from '../test/support/mfa.ts';
import { follow, formAction, signIn, startAuthorization, UserAgent, type RelyingParty } from '../test/support/relying-party.ts';
import { createUser } from '../test/support/server.ts';
import type { ServerProcess } from './server-process.ts';

export interface Person {
  credentials: { username: string; password: string };
  phone: Phone;
}

/**
 * People who have registered an authenticator app (on the real clock, the node being in a
 * process of its own), `at once` at a time. Then waits for the next 30-second step, so
 * each one's next code is a new one.
 */
export async function registeredPeople(
  server: ServerProcess,
  rp: RelyingParty,
  prefix: string,
  count: number,
  atOnce = 4,
): Promise<Person[]> {
  const people: Person[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: atOnce }, async () => {
      while (next < count) {
        const credentials = { username: `${prefix}${next++}`, password: 'a long passphrase' };
        await createUser(server, credentials);
        const phone = new Phone(systemClock);
        await signIn(new UserAgent(), rp, credentials, {}, phone.app);
        people.push({ credentials, phone });
      }
    }),
  );
  await nextStep();
  return people;
}

/** Waits until a new 30-second TOTP step has begun. */
export async function nextStep() {
  await new Promise((resolve) => setTimeout(resolve, 30_000 - (Date.now() % 30_000) + 50));
}

/** Runs `task` over `items`, `concurrency` at a time; counts the failures. */
export async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          await task(item);
        } catch (err) {
          if (errors++ === 0) console.error(`first error: ${String(err).slice(0, 300)}`);
        }
      }
    }),
  );
  return errors;
}

/**
 * A code page open for each person (password given), waiting for a right code: only the
 * code POST is left to time. One person each, so no code is a replay.
 */
export async function openCodePages(rp: RelyingParty, people: Person[], params: Record<string, string> = {}) {
  const pending: { agent: UserAgent; action: URL; person: Person }[] = [];
  const errors = await pool(people, 4, async (person) => {
    const agent = new UserAgent();
    const login = await follow(agent, (await startAuthorization(rp, params)).url, rp.redirectUri);
    const posted = await agent.postForm(formAction(login, '/login'), person.credentials);
    const page = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
    pending.push({ agent, action: formAction(page, '/code'), person });
  });
  return { pending, errors };
}
