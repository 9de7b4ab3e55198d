import type { Clock } from '../domain/clock.ts';
import type { AuditLog, SecondFactorGuard, UserStore } from '../domain/ports.ts';
import type { SamlAppService } from '../domain/saml-apps.ts';
import type { SamlIdentity } from './identity.ts';
import type { SamlKeys } from './signing-keys.ts';

/** What single sign-on and single logout both need: this identity provider, its applications, keys and stores. */
export interface SamlCommonDeps {
  issuer: string;
  entityId: string;
  clockSkewSeconds: number;
  apps: SamlAppService;
  users: UserStore;
  keys: SamlKeys;
  identity: SamlIdentity;
  /** One-time holds (a request ID accepted once), atomic across nodes. */
  guard: SecondFactorGuard;
  audit: AuditLog;
  clock: Clock;
}
