import type { Clock } from '../domain/clock.ts';
import type { AuditLog, SecondFactorGuard, UserStore } from '../domain/ports.ts';
import type { SamlAppService } from '../domain/saml-apps.ts';
import type { SamlIdentity } from './identity.ts';
import { ASSERTION_SECONDS } from './outbound.ts';
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

/**
 * The checks every request of an application gets, single sign-on and logout alike: its
 * IssueInstant within five minutes (and the allowed clock skew) of now, and its ID accepted
 * once, held atomically on every node for as long as it could be valid.
 */
export function requestChecks(deps: Pick<SamlCommonDeps, 'clock' | 'clockSkewSeconds' | 'guard'>) {
  const skew = deps.clockSkewSeconds * 1000;
  return {
    /** Why the request's time is refused, or undefined when it is timely. */
    untimely(issueInstant: number): 'future' | 'expired' | undefined {
      const now = deps.clock.now();
      if (issueInstant > now + skew) return 'future';
      if (issueInstant < now - ASSERTION_SECONDS * 1000 - skew) return 'expired';
      return undefined;
    },
    /** True the first time this application's request ID is seen. */
    once: (kind: 'request' | 'logout', appId: string, requestId: string) =>
      deps.guard.acquire(`saml-${kind}:${appId}:${requestId}`, ASSERTION_SECONDS + 2 * deps.clockSkewSeconds),
  };
}
