import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { Phone, wrongCode } from '../support/mfa.ts';
import { signIn, SignInRefused, UserAgent } from '../support/relying-party.ts';
import { createUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

/** The value of one series in Prometheus text, 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('metrics', () => {
  const clock = createManualClock(Date.now());
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ clock });
  });
  after(() => server.close());

  it('count sign-ins and second-factor outcomes, time requests by route, and name nobody', async () => {
    const credentials = { username: 'mallory-metrics', password: 'a long passphrase' };
    const { id } = await createUser(server, credentials);
    const rp = (
      await registerApplication(server, {
        client_id: 'app',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
    const phone = new Phone(clock);
    await signIn(new UserAgent(), rp, credentials, {}, phone.app);
    clock.advance(30_000);
    await assert.rejects(signIn(new UserAgent(), rp, credentials, {}, { code: async () => wrongCode(await phone.code()) }), SignInRefused);
    await assert.rejects(signIn(new UserAgent(), rp, { ...credentials, password: 'wrong' }), SignInRefused);
    clock.advance(30_000);
    await signIn(new UserAgent(), rp, credentials, {}, phone.app);

    const response = await fetch(`${server.issuer}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.equal(sample(text, 'twofold_signins_total{outcome="success"}'), 2, 'the registration and the code');
    assert.equal(sample(text, 'twofold_signins_total{outcome="password_refused"}'), 1);
    assert.equal(sample(text, 'twofold_registrations_total'), 1);
    assert.equal(sample(text, 'twofold_second_factor_total{outcome="passed"}'), 1, 'the registration is counted as one, not as a check');
    assert.equal(sample(text, 'twofold_second_factor_total{outcome="wrong"}'), 1);
    assert.ok(sample(text, 'twofold_http_request_duration_seconds_count{method="POST",route="/interaction/:uid/code",status="3xx"}') >= 1);
    assert.ok(
      sample(text, 'twofold_http_request_duration_seconds_count{method="GET",route="/auth",status="3xx"}') >= 1,
      "the engine's routes too",
    );
    assert.ok(sample(text, 'twofold_store_operation_duration_seconds_count{store="users",operation="findByUsername"}') >= 4);
    assert.match(text, /^process_cpu_user_seconds_total /m, 'and the process metrics');
    for (const identifier of [credentials.username, id]) assert.equal(text.includes(identifier), false, 'no label names a user');
  });
});
