import { ConfigError, loadConfig } from './config/load.ts';
import { createLogger } from './logger.ts';
import { startTwofold } from './server.ts';

/** Started by main.ts on a supported Node: read the configuration, start, and stop cleanly on SIGTERM or SIGINT. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`twofold: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const twofold = await startTwofold(config, { log });
  log.info({ issuer: config.issuer, mode: config.mode }, 'twofold is listening');

  if (config.mode === 'embedded') {
    const lines = [
      '',
      '  twofold is running in embedded mode.',
      '  WARNING: nothing is persisted; users, applications and sessions are lost when it stops.',
      '',
      `  Demo application:  ${twofold.demo?.url ?? '(not seeded)'}   (asks for a second factor)`,
      ...(twofold.demo ? [`  Demo SAML app:     ${twofold.demo.samlUrl}   (the same sign-in, over SAML)`] : []),
      ...(twofold.demo ? [`  Demo user:         ${twofold.demo.username}`, `  Demo password:     ${twofold.demo.password}`] : []),
      ...(config.generated.includes('adminToken') ? [`  Admin token:       ${config.adminToken}`] : []),
      `  Admin API:         ${config.issuer}/admin/api`,
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    await twofold.close();
    log.info('stopped');
    log.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

await main();
