/**
 * `npm test`: starts one Redis and one MongoDB-wire test server (mongo-java-server, built
 * here with Maven when needed) for the whole run, unless REDIS_URL or MONGODB_URI name
 * servers to use, then runs every test file with node's test runner. Each test works in
 * its own database and key prefix, so files run in parallel.
 * A run of every file (no file named) first checks the types of src, test, bench and
 * scripts with tsc. Under CI=true a missing Redis, Java, Maven or Chromium fails the run; elsewhere the tests
 * that need it are skipped, with one line saying what to install.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromiumBin, redisServerBin, startMongoServer, startRedis, type Service } from '../test/support/processes.ts';

const ci = process.env.CI === 'true';
const started: Service[] = [];
const env: NodeJS.ProcessEnv = { ...process.env };
const missing: string[] = [];

// The tests start servers of their own and must not be steered by an operator's settings.
for (const name of ['PORT', 'ISSUER', 'ADMIN_TOKEN', 'DATA_KEY', 'COOKIE_KEYS', 'CONFIG_FILE']) delete env[name];

async function main(): Promise<number> {
  if (process.env.REDIS_URL) env.TEST_REDIS_URL = process.env.REDIS_URL;
  else if (existsSync(redisServerBin)) {
    started.push(await startRedis());
    env.TEST_REDIS_URL = started.at(-1)!.url;
  } else missing.push('Redis (apt-get install redis-server)');

  if (process.env.MONGODB_URI) env.TEST_MONGODB_URI = process.env.MONGODB_URI;
  else if (buildMongoServer()) {
    started.push(await startMongoServer());
    env.TEST_MONGODB_URI = started.at(-1)!.url;
  } else missing.push('Java 17 and Maven for the MongoDB test server (apt-get install openjdk-17-jdk-headless maven)');

  const schemas = samlSchemaClasspath();
  if (schemas) env.TEST_SAML_SCHEMA_CP = schemas;
  else missing.push('Java 17 and Maven for the SAML metadata schema (apt-get install openjdk-17-jdk-headless maven)');

  if (existsSync(chromiumBin)) env.TEST_CHROMIUM = chromiumBin;
  else missing.push('Chromium (apt-get install chromium)');
  delete env.REDIS_URL;
  delete env.MONGODB_URI;

  if (missing.length) {
    if (ci) {
      console.error(`CI=true and missing: ${missing.join(', ')}`);
      return 1;
    }
    console.log(`skipping the tests that need: ${missing.join(', ')}`);
  }

  const files = process.argv.slice(2);
  // The whole run checks the types too (the build of `npm start` only strips them).
  if (!files.length) {
    console.log('type check (tsc --noEmit)…');
    const checked = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'], {
      stdio: 'inherit',
    });
    if (checked.status !== 0) {
      console.error('the type check failed (see above)');
      return 1;
    }
  }
  const child = spawn(
    process.execPath,
    ['--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=120000', ...(files.length ? files : ['test/**/*.test.ts'])],
    { stdio: 'inherit', env },
  );
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/** Builds the MongoDB test server when its build is missing or older than its sources. */
function buildMongoServer(): boolean {
  const tools = spawnSync('sh', ['-c', 'command -v java && command -v mvn'], { stdio: 'ignore' });
  if (tools.status !== 0) return false;
  const build = spawnSync('bash', [new URL('./build-mongo-server.sh', import.meta.url).pathname], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the MongoDB test server did not build (see above)');
  return true;
}

/** The classpath of the jars that carry the SAML metadata schema, fetched with Maven when needed. */
function samlSchemaClasspath(): string | undefined {
  const tools = spawnSync('sh', ['-c', 'command -v java && command -v mvn'], { stdio: 'ignore' });
  if (tools.status !== 0) return undefined;
  const fetched = spawnSync('bash', [new URL('./fetch-saml-schemas.sh', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (fetched.status !== 0) throw new Error('the SAML metadata schema could not be fetched (see above)');
  return fetched.stdout.toString().trim();
}

let code: number;
try {
  code = await main();
} finally {
  await Promise.all(started.map((service) => service.stop()));
}
process.exit(code);
