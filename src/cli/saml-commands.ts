import { readFile } from 'node:fs/promises';
import type { ParseArgsOptionsConfig } from 'node:util';
import { factorsOption, UsageError, type Command, type Invocation } from './commands.ts';
import { record, table } from './format.ts';

const samlOptions: ParseArgsOptionsConfig = {
  metadata: { type: 'string' },
  'entity-id': { type: 'string' },
  'acs-url': { type: 'string', multiple: true },
  certificate: { type: 'string' },
  'slo-url': { type: 'string' },
  name: { type: 'string' },
  policy: { type: 'string' },
  'max-age': { type: 'string' },
  factors: { type: 'string' },
  'name-id-format': { type: 'string' },
  'sign-requests': { type: 'boolean' },
  'unsigned-requests': { type: 'boolean' },
  'idp-initiated': { type: 'boolean' },
  'no-idp-initiated': { type: 'boolean' },
};

/** The API fields of the options given (files read here: the API takes their content). */
async function samlFields(values: Invocation['values']): Promise<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  if (typeof values.metadata === 'string') fields.metadata_xml = await readFile(values.metadata, 'utf8');
  if (values['entity-id'] !== undefined) fields.entity_id = values['entity-id'];
  if (values['acs-url'] !== undefined) fields.acs_urls = values['acs-url'];
  if (typeof values.certificate === 'string') fields.certificate = await readFile(values.certificate, 'utf8');
  if (values['slo-url'] !== undefined) fields.slo_url = values['slo-url'];
  if (values.name !== undefined) fields.name = values.name;
  if (values.policy !== undefined) fields.mfa_policy = values.policy;
  if (values.factors !== undefined) fields.mfa_factors = factorsOption(values.factors);
  if (values['name-id-format'] !== undefined) fields.name_id_format = values['name-id-format'];
  if (values['max-age'] !== undefined) {
    const seconds = Number(values['max-age']);
    if (!Number.isSafeInteger(seconds)) throw new UsageError('--max-age takes a number of seconds');
    fields.mfa_max_age = seconds;
  }
  if (values['sign-requests']) fields.want_authn_requests_signed = true;
  if (values['unsigned-requests']) fields.want_authn_requests_signed = false;
  if (values['idp-initiated']) fields.idp_initiated = true;
  if (values['no-idp-initiated']) fields.idp_initiated = false;
  return fields;
}

const appRows = (apps: any[]) =>
  table(
    ['ID', 'NAME', 'ENTITY ID', 'MFA POLICY', 'NAMEID', 'SIGNED REQUESTS', 'IDP-INITIATED'],
    apps.map((app) => [
      app.id,
      app.name,
      app.entity_id,
      app.mfa_policy ?? '(default)',
      app.name_id_format,
      app.want_authn_requests_signed,
      app.idp_initiated,
    ]),
  );

const keyText = (keys: any) =>
  [
    `current certificate: SHA-256 ${keys.current.sha256_fingerprint}, valid until ${keys.current.not_after}`,
    keys.next ? `next certificate (published, not yet signing): SHA-256 ${keys.next.sha256_fingerprint}` : 'next certificate: none',
    ...(keys.from_files ? ['the keys come from files (saml.keyFile): rotate them by changing the files'] : []),
  ].join('\n');

/** SAML applications and the SAML signing keys (SPEC section 11). */
export const samlCommands: Command[] = [
  {
    name: 'saml-apps add',
    args: 'ID (--metadata FILE | --entity-id ID --acs-url URL)',
    summary: 'register a SAML application from its metadata file, or from fields; applications are given ISSUER/saml/metadata',
    positionals: [1, 1],
    options: samlOptions,
    run: async (i) => {
      const fields = await samlFields(i.values);
      if (!fields.metadata_xml && !(fields.entity_id && fields.acs_urls))
        throw new UsageError('give --metadata FILE, or --entity-id and --acs-url');
      return i.api.call('POST', '/saml/apps', { id: i.positionals[0], ...fields });
    },
    text: record,
  },
  {
    name: 'saml-apps list',
    args: '',
    summary: 'list SAML applications',
    positionals: [0, 0],
    run: (i) => i.api.call('GET', '/saml/apps'),
    text: (result) => appRows(result.apps),
  },
  {
    name: 'saml-apps show',
    args: 'ID',
    summary: 'one SAML application',
    positionals: [1, 1],
    run: (i) => i.api.call('GET', `/saml/apps/${encodeURIComponent(i.positionals[0]!)}`),
    text: record,
  },
  {
    name: 'saml-apps set',
    args: 'ID [options]',
    summary: 'change a SAML application (the options of add)',
    positionals: [1, 1],
    options: samlOptions,
    run: async (i) => {
      const fields = await samlFields(i.values);
      if (fields.metadata_xml) throw new UsageError('--metadata is for add; change fields one by one');
      if (!Object.keys(fields).length) throw new UsageError('nothing to change: give at least one option');
      return i.api.call('PATCH', `/saml/apps/${encodeURIComponent(i.positionals[0]!)}`, fields);
    },
    text: record,
  },
  {
    name: 'saml-apps delete',
    args: 'ID --yes',
    summary: 'delete a SAML application',
    positionals: [1, 1],
    options: { yes: { type: 'boolean' } },
    run: async (i) => {
      if (!i.values.yes) throw new UsageError('deleting a SAML application: add --yes to confirm');
      await i.api.call('DELETE', `/saml/apps/${encodeURIComponent(i.positionals[0]!)}`);
      return { deleted: i.positionals[0] };
    },
    text: (result) => `deleted ${result.deleted}`,
  },
  {
    name: 'saml-keys show',
    args: '',
    summary: 'the SAML signing certificate, and the next one once published',
    positionals: [0, 0],
    run: (i) => i.api.call('GET', '/saml/keys'),
    text: keyText,
  },
  {
    name: 'saml-keys next',
    args: '',
    summary: 'publish a next signing certificate in the metadata (signing goes on with the current one)',
    positionals: [0, 0],
    run: (i) => i.api.call('POST', '/saml/keys/next'),
    text: keyText,
  },
  {
    name: 'saml-keys rotate',
    args: '--yes',
    summary: 'sign with the next certificate from now on (applications must have fetched it)',
    positionals: [0, 0],
    options: { yes: { type: 'boolean' } },
    run: async (i) => {
      if (!i.values.yes) throw new UsageError('rotating the SAML signing key: add --yes to confirm');
      return i.api.call('POST', '/saml/keys/rotate');
    },
    text: keyText,
  },
];
