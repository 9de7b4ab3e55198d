import type { Clock } from './clock.ts';
import { AppError } from './errors.ts';
import type { SamlAppRecord, SamlAppStore, SamlAttribute } from './ports.ts';

/**
 * The installation's secret under which persistent NameIDs are made (kept sealed in the
 * key store). It travels with an export, so an import elsewhere keeps users' NameIDs.
 */
export const PAIRWISE_KEY_ID = 'saml-pairwise';
export const PAIRWISE_PURPOSE = 'saml-pairwise-secret';

/** What an administrator gives for a SAML application; unset fields take their defaults. */
export type SamlAppInput = Omit<
  SamlAppRecord,
  'createdAt' | 'updatedAt' | 'nameIdFormat' | 'wantAuthnRequestsSigned' | 'idpInitiated' | 'name'
> &
  Partial<Pick<SamlAppRecord, 'nameIdFormat' | 'wantAuthnRequestsSigned' | 'idpInitiated' | 'name'>>;

export type SamlAppPatch = Partial<Omit<SamlAppRecord, 'id' | 'createdAt' | 'updatedAt'>>;

/**
 * The attributes sent when an application names none: username, email and name, under
 * their eduPerson/inetOrgPerson OIDs (NameFormat uri) and under their plain names.
 */
export const DEFAULT_SAML_ATTRIBUTES: readonly SamlAttribute[] = [
  { field: 'username', name: 'urn:oid:0.9.2342.19200300.100.1.1', nameFormat: 'uri' },
  { field: 'email', name: 'urn:oid:0.9.2342.19200300.100.1.3', nameFormat: 'uri' },
  { field: 'name', name: 'urn:oid:2.16.840.1.113730.3.1.241', nameFormat: 'uri' },
  { field: 'username', name: 'username', nameFormat: 'basic' },
  { field: 'email', name: 'email', nameFormat: 'basic' },
  { field: 'name', name: 'name', nameFormat: 'basic' },
];

/** The application's own rules, beyond the shape of each field. */
function checkApp(app: SamlAppRecord): SamlAppRecord {
  if (app.wantAuthnRequestsSigned && !app.certificate) {
    throw new AppError('invalid_request', 'want_authn_requests_signed needs the application’s certificate to check the signatures');
  }
  if (app.sloUrl === undefined && app.acsUrls.length === 0) throw new AppError('invalid_request', 'acs_urls: at least one');
  return app;
}

/** SAML applications: registered by an administrator (no consent page), each with its policy. */
export function createSamlAppService(deps: { store: SamlAppStore; clock: Clock }) {
  const now = () => new Date(deps.clock.now());
  return {
    list: () => deps.store.list(),
    find: (id: string) => deps.store.find(id),
    findByEntityId: (entityId: string) => deps.store.findByEntityId(entityId),

    async create(input: SamlAppInput): Promise<SamlAppRecord> {
      const at = now();
      const app = checkApp({
        ...input,
        name: input.name ?? input.id,
        nameIdFormat: input.nameIdFormat ?? 'persistent',
        wantAuthnRequestsSigned: input.wantAuthnRequestsSigned ?? false,
        idpInitiated: input.idpInitiated ?? false,
        createdAt: at,
        updatedAt: at,
      });
      await deps.store.create(app);
      return app;
    },

    /** Null when there is no such application. A field set to null in the patch is removed. */
    async update(id: string, patch: SamlAppPatch): Promise<SamlAppRecord | null> {
      const existing = await deps.store.find(id);
      if (!existing) return null;
      const merged = Object.fromEntries(
        Object.entries({ ...existing, ...patch, updatedAt: now() }).filter(([, value]) => value !== undefined && value !== null),
      ) as unknown as SamlAppRecord;
      const app = checkApp(merged);
      return (await deps.store.replace(app)) ? app : null;
    },

    delete: (id: string) => deps.store.delete(id),
  };
}

export type SamlAppService = ReturnType<typeof createSamlAppService>;
