import client from 'prom-client';
import type { AuditEvent } from './domain/ports.ts';
import type { Stores } from './stores/types.ts';

/**
 * Prometheus metrics of one twofold instance (a registry of its own, so several instances
 * in one process keep theirs apart). Outcomes come from the audit events and the users'
 * sign-ins; store calls are timed where the stores are handed out. No label carries a
 * user name or id.
 */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new client.Counter({ name, help, labelNames, registers: [registry] });
  const signIns = counter('twofold_signins_total', 'Sign-ins by outcome', ['outcome']);
  const secondFactor = counter('twofold_second_factor_total', 'Second-factor checks by outcome', ['outcome']);
  const registrations = counter('twofold_registrations_total', 'Authenticator apps registered');
  const lockouts = counter('twofold_lockouts_total', 'Users locked after too many wrong codes');
  const rateLimited = counter('twofold_rate_limited_total', 'Password attempts refused by a rate limit', ['per']);
  const mails = counter('twofold_mails_total', 'Mails by kind and outcome (sent, retrying, failed, dropped)', ['kind', 'outcome']);
  const storeErrors = counter('twofold_store_errors_total', 'Store calls that failed', ['store']);
  const storeDuration = new client.Histogram({
    name: 'twofold_store_operation_duration_seconds',
    help: 'Store calls by store and operation',
    labelNames: ['store', 'operation'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const httpDuration = new client.Histogram({
    name: 'twofold_http_request_duration_seconds',
    help: 'HTTP requests by route and status class',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });

  function fromAudit(event: AuditEvent) {
    switch (event.type) {
      case 'mfa.passed':
        return secondFactor.inc({ outcome: 'passed' });
      case 'signin.succeeded':
        return signIns.inc({ outcome: 'success' });
      case 'mfa.refused':
        return secondFactor.inc({ outcome: event.reason ?? 'wrong' });
      case 'mfa.registered':
        return registrations.inc();
      case 'mfa.locked':
        return lockouts.inc();
      case 'password.refused':
        return signIns.inc({ outcome: event.reason === 'disabled' ? 'disabled' : 'password_refused' });
      case 'rate_limited':
        rateLimited.inc({ per: event.reason ?? 'unknown' });
        return signIns.inc({ outcome: 'rate_limited' });
      default:
        return undefined;
    }
  }

  /** Times every method of a store object, and counts the ones that fail. */
  function timed<T extends object>(store: string, target: T): T {
    return new Proxy(target, {
      get(object, key, receiver) {
        const value = Reflect.get(object, key, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const end = storeDuration.startTimer({ store, operation: String(key) });
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
          } catch (err) {
            storeErrors.inc({ store });
            throw err;
          } finally {
            end();
          }
        };
      },
    });
  }

  return {
    registry,
    /** One mail's outcome. */
    countMail: (kind: string, outcome: string) => mails.inc({ kind, outcome }),
    /** The stores, timed, with the outcomes their audit events and sign-ins tell. */
    instrument(stores: Stores): Stores {
      const users = timed('users', stores.users);
      const audit = timed('audit', stores.audit);
      return {
        ...stores,
        users,
        audit: {
          retentionDays: stores.audit.retentionDays,
          list: (query) => audit.list(query),
          async record(...events) {
            await audit.record(...events);
            events.forEach(fromAudit);
          },
        },
        clients: timed('clients', stores.clients),
        settings: timed('settings', stores.settings),
        guard: timed('guard', stores.guard),
        rateLimiter: timed('rate_limiter', stores.rateLimiter),
        keys: timed('keys', stores.keys),
        oidc: {
          ...stores.oidc,
          adapterFor: (model: string) => timed(`oidc_${model}`, stores.oidc.adapterFor(model)),
          endSessionsOf: stores.oidc.endSessionsOf,
          ttlOf: stores.oidc.ttlOf,
        },
      };
    },
    /** Records one HTTP request; `route` is a template, never a path with ids in it. */
    observeHttp(method: string, route: string, status: number, seconds: number) {
      httpDuration.observe({ method, route, status: `${Math.floor(status / 100)}xx` }, seconds);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
