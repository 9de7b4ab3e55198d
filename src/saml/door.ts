import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import type { Clock } from '../domain/clock.ts';
import type { DataKeyring } from '../domain/data-key.ts';
import type { SamlAppService } from '../domain/saml-apps.ts';
import type { SignInJourney } from '../domain/sign-in-journey.ts';
import { createSelfClient } from '../http/self-client.ts';
import { SAML_CLIENT_ID } from '../oidc/internal-clients.ts';
import type { MfaAssessor } from '../oidc/mfa-assessment.ts';
import type { SignInSessions } from '../oidc/sign-in-sessions.ts';
import type { Stores } from '../stores/types.ts';
import { createSamlIdentity } from './identity.ts';
import { createPendingSignIns } from './pending.ts';
import { createSamlRoutes } from './routes.ts';
import { createSamlKeys } from './signing-keys.ts';
import { createSlo } from './slo.ts';
import { appPolicyOfSaml, createSso } from './sso.ts';

export interface SamlDoorDeps {
  config: Config;
  stores: Stores;
  keyring: DataKeyring;
  clock: Clock;
  log: Logger;
  apps: SamlAppService;
  journey: SignInJourney;
  assessor: MfaAssessor;
  sessions: SignInSessions;
  localOrigin: () => string | undefined;
}

/** The SAML 2.0 identity provider, wired: its keys, its identities, its front door's routes. */
export function createSamlDoor(deps: SamlDoorDeps) {
  const { config, stores, keyring, clock } = deps;
  const entityId = config.saml.entityId ?? `${config.issuer}/saml/metadata`;
  const keys = createSamlKeys({ keys: stores.keys, keyring, clock, commonName: new URL(config.issuer).host, files: config.saml });
  const identity = createSamlIdentity({ keys: stores.keys, keyring });
  const pending = createPendingSignIns(stores.oidc, config.oidc.ttl.interaction);
  const selfClient = createSelfClient({
    issuer: config.issuer,
    clientId: SAML_CLIENT_ID,
    path: '/saml',
    scope: 'openid',
    localOrigin: deps.localOrigin,
  });
  const common = {
    issuer: config.issuer,
    entityId,
    clockSkewSeconds: config.saml.clockSkewSeconds,
    apps: deps.apps,
    users: stores.users,
    keys,
    identity,
    guard: stores.guard,
    audit: stores.audit,
    clock,
  };
  const sso = createSso({ ...common, journey: deps.journey, pending, selfClient, log: deps.log });
  const slo = createSlo({ ...common, sessions: deps.sessions, oidc: stores.oidc });
  // A sign-in for the SAML client is for the SAML application its request named.
  deps.assessor.standsFor(SAML_CLIENT_ID, async (params) => {
    const app = await sso.appOf(params.state);
    return app ? { clientId: app.id, protocol: 'saml' as const, name: app.name, policy: appPolicyOfSaml(app) } : undefined;
  });
  const endpoints = { entityId, ssoUrl: `${config.issuer}/saml/sso`, sloUrl: `${config.issuer}/saml/slo` };
  return { entityId, endpoints, keys, routes: createSamlRoutes({ endpoints, keys, sso, slo }) };
}

export type SamlDoor = ReturnType<typeof createSamlDoor>;
