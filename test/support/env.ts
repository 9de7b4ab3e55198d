import { randomBytes } from 'node:crypto';

/** The servers the test runner started (or was pointed at); see scripts/test.ts. */
export const testRedisUrl = process.env.TEST_REDIS_URL;
export const testMongoBase = process.env.TEST_MONGODB_URI;
export const testChromium = process.env.TEST_CHROMIUM;
export const samlSchemaClasspath = process.env.TEST_SAML_SCHEMA_CP;

/** Why tests needing Redis + MongoDB are skipped here, or undefined when they can run. */
export const realStoresSkip =
  testRedisUrl && testMongoBase
    ? undefined
    : 'needs Redis and the MongoDB test server (npm test starts them when Redis, Java and Maven are installed)';
export const browserSkip = testChromium ? undefined : 'needs Chromium (apt-get install chromium)';

/** A database of its own for one test, on the shared MongoDB-wire server. */
export function freshMongoUri(base = testMongoBase!): string {
  const url = new URL(base);
  url.pathname = `/t_${randomBytes(6).toString('hex')}`;
  return url.toString();
}

/** A key prefix of its own for one test, on the shared Redis. */
export function freshKeyPrefix(): string {
  return `{t${randomBytes(6).toString('hex')}}:`;
}
export const samlSchemaSkip = samlSchemaClasspath ? undefined : 'needs Java 17 and Maven for the SAML metadata schema';
