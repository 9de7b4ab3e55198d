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
    const demo = twofold.demo;
    const lines = [
      '',
      '  twofold is running in embedded mode.',
      '  WARNING: nothing is persisted; users, applications and sessions are lost when it stops.',
      '',
      ...(demo
        ? [
            `  Demo application:  ${demo.url}   (asks for a second factor)`,
            `  Demo SAML app:     ${demo.samlUrl}   (the same sign-in, over SAML)`,
            `  Demo user:         ${demo.username} / ${demo.password}`,
            '',
            `  Console:           ${config.issuer}/admin/   (sign in as the demo administrator)`,
            `  Demo administrator: ${demo.admin.username} / ${demo.admin.password}`,
            `  Your account:      ${config.issuer}/account/`,
            ...(config.mail.smtpUrl ? [] : [`  Demo mailbox:      ${config.issuer}/demo/mail   (mails are printed here and kept there)`]),
          ]
        : [`  Console:           ${config.issuer}/admin/`, `  Your account:      ${config.issuer}/account/`]),
      '',
      `  Admin API:         ${config.issuer}/admin/api   (documentation: ${config.issuer}/admin/api/docs)`,
      ...(config.generated.includes('adminToken')
        ? [`  Admin token:       ${config.adminToken}`, `  CLI:               ADMIN_TOKEN=${config.adminToken} npx twofold users list`]
        : []),
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
    log.flush(() => process.exit(0));
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

await main();
