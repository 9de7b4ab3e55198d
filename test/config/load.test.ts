import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.ts';

const dataKey = randomBytes(32).toString('base64');
const production = {
  MONGODB_URI: 'mongodb://db:27017/twofold',
  REDIS_URL: 'redis://cache:6379',
  ADMIN_TOKEN: 'a'.repeat(40),
  DATA_KEY: dataKey,
  COOKIE_KEYS: 'k'.repeat(32),
};

function failure(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message.includes('\n'), false, 'one line');
    return err.message;
  }
  assert.fail('the configuration was accepted');
}

function file(contents: string, name = 'twofold.yaml'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'twofold-config-')), name);
  writeFileSync(path, contents);
  return path;
}

describe('configuration', () => {
  it('runs embedded with generated secrets when nothing is set', () => {
    const config = loadConfig({});
    assert.equal(config.mode, 'embedded');
    assert.equal(config.port, 3000);
    assert.equal(config.issuer, 'http://localhost:3000');
    assert.deepEqual([...config.generated].sort(), ['adminToken', 'cookieKeys', 'dataKey']);
    assert.equal(config.dataKeys[0]!.length, 32);
    assert.ok(config.adminToken.length >= 32);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.oidc.ttl), 'frozen');
  });

  it('names the key, the value and what is allowed for a bad value', () => {
    assert.equal(failure({ PORT: 'abc' }), 'invalid configuration: PORT="abc": an integer from 1 to 65535');
    assert.match(failure({ PORT: '70000' }), /^invalid configuration: PORT="70000": an integer from 1 to 65535$/);
    assert.match(failure({ ISSUER: 'ftp://x' }), /ISSUER="ftp:\/\/x": an http\(s\) URL/);
    assert.match(failure({ LOG_LEVEL: 'loud' }), /LOG_LEVEL="loud": one of fatal/);
    assert.match(failure({ REDIS_URL: 'http://x' }), /REDIS_URL="http:\/\/x": a redis:\/\/ or rediss:\/\/ URL/);
  });

  it('listens on every interface unless HOST names an address', () => {
    assert.equal(loadConfig({}).host, undefined);
    assert.equal(loadConfig({ HOST: '127.0.0.1' }).host, '127.0.0.1');
    assert.equal(loadConfig({ HOST: '::1' }).host, '::1');
    assert.match(
      failure({ HOST: '127.0.0.1; rm' }),
      /^invalid configuration: HOST="127\.0\.0\.1; rm": an address or host name to listen on/,
    );
  });

  it('never prints a secret value, only its length', () => {
    const message = failure({ ...production, DATA_KEY: 'c2hvcnQ=' });
    assert.match(message, /DATA_KEY=\(hidden, 8 characters\): base64 of 32 bytes/);
    assert.equal(message.includes('c2hvcnQ='), false);
    assert.match(failure({ ...production, ADMIN_TOKEN: 'short-token' }), /ADMIN_TOKEN=\(hidden, 11 characters\): at least 32 characters/);
    assert.match(failure({ ...production, COOKIE_KEYS: `${'k'.repeat(32)},short` }), /COOKIE_KEYS=\(hidden/);
  });

  it('refuses production without ADMIN_TOKEN, DATA_KEY and COOKIE_KEYS, naming each missing one', () => {
    const message = failure({ MONGODB_URI: production.MONGODB_URI, REDIS_URL: production.REDIS_URL });
    assert.match(message, /production mode/);
    assert.match(message, /missing: ADMIN_TOKEN, DATA_KEY, COOKIE_KEYS$/);
    assert.match(failure({ ...production, COOKIE_KEYS: undefined }), /missing: COOKIE_KEYS$/);
    assert.match(failure({ ...production, REDIS_URL: undefined }), /missing: REDIS_URL$/);
  });

  it('starts production with every secret given', () => {
    const config = loadConfig(production);
    assert.equal(config.mode, 'production');
    assert.deepEqual(config.generated, []);
    assert.equal(config.dataKeys.length, 1);
  });

  it('refuses an http:// issuer in production, but for localhost or when explicitly allowed', () => {
    assert.match(
      failure({ ...production, ISSUER: 'http://id.example.com' }),
      /ISSUER=http:\/\/id\.example\.com: production needs an https:\/\/ issuer/,
    );
    assert.equal(loadConfig({ ...production, ISSUER: 'https://id.example.com' }).issuer, 'https://id.example.com');
    assert.equal(loadConfig({ ...production, ISSUER: 'http://localhost:3000' }).issuer, 'http://localhost:3000');
    assert.equal(loadConfig({ ISSUER: 'http://id.example.com' }).mode, 'embedded', 'the embedded demo may run on plain http');
  });

  it('accepts several data keys for rotation, the first one current', () => {
    const old = randomBytes(32).toString('base64');
    const config = loadConfig({ ...production, DATA_KEY: `${dataKey},${old}` });
    assert.equal(config.dataKeys.length, 2);
    assert.deepEqual(config.dataKeys[1], Buffer.from(old, 'base64'));
  });

  it('reads a YAML or JSON CONFIG_FILE, and the environment wins over it', () => {
    const yaml = file('port: 4000\nredis:\n  keyPrefix: "{acme}:"\noidc:\n  ttl:\n    interaction: 900\n');
    const config = loadConfig({ CONFIG_FILE: yaml });
    assert.equal(config.port, 4000);
    assert.equal(config.redis.keyPrefix, '{acme}:');
    assert.equal(config.oidc.ttl.interaction, 900);
    assert.equal(config.oidc.ttl.session, 1209600, 'defaults stay for keys the file does not set');
    assert.equal(loadConfig({ CONFIG_FILE: yaml, PORT: '5000' }).port, 5000);
    const json = file('{"trustProxy": true}', 'twofold.json');
    assert.equal(loadConfig({ CONFIG_FILE: json }).trustProxy, 1, 'true: one proxy');
    assert.equal(loadConfig({ CONFIG_FILE: file('trustProxy: 2', 'twofold.yaml') }).trustProxy, 2);
    assert.throws(() => loadConfig({ CONFIG_FILE: file('trustProxy: -1', 'twofold.yaml') }), /trustProxy.*number of proxies/);
  });

  it('names an unknown or bad key in CONFIG_FILE, and an unreadable file', () => {
    assert.match(
      failure({ CONFIG_FILE: file('prot: 4000\n') }),
      /^invalid configuration: prot \(in CONFIG_FILE\)=4000: not a known option$/,
    );
    assert.match(
      failure({ CONFIG_FILE: file('password:\n  memoryKiB: 1024\n') }),
      /password\.memoryKiB \(in CONFIG_FILE\)=1024: KiB, OWASP minimum/,
    );
    assert.match(
      failure({ CONFIG_FILE: file('redis:\n  sentinels: [{host: a, port: 26379}]\n') }),
      /redis \(in CONFIG_FILE\)=.*sentinels need sentinelName/,
    );
    assert.match(failure({ CONFIG_FILE: '/no/such/file.yaml' }), /^CONFIG_FILE="\/no\/such\/file.yaml" cannot be read: ENOENT$/);
    assert.match(failure({ CONFIG_FILE: file('port: [1, 2\n') }), /is not valid JSON or YAML/);
  });
});
