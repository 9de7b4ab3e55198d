import type { NamedAuditEvent } from '../../domain/administration.ts';
import type { AuditType } from '../../domain/ports.ts';

/** Each event type in words, for the filter and the log. */
export const eventTypeLabels: Record<AuditType, string> = {
  'mfa.passed': 'Second factor passed',
  'mfa.refused': 'Second factor refused',
  'mfa.registered': 'Authenticator app registered',
  'mfa.key_cloned': 'Copy of a security key refused',
  'mfa.key_removed': 'Security key removed',
  'mfa.key_renamed': 'Security key renamed',
  'mfa.app_renamed': 'Authenticator app renamed',
  'mfa.browser_remembered': 'Browser remembered',
  'mfa.browser_used': 'Remembered browser spared the second factor',
  'mfa.browser_forgotten': 'Remembered browser forgotten',
  'mfa.backup_code_used': 'Backup code used',
  'mfa.locked': 'Locked after wrong codes',
  'mfa.unlocked': 'Unlocked',
  'mfa.reset': 'Authenticator app reset',
  'mfa.device_deleted': 'Authenticator app removed',
  'mfa.backup_codes_regenerated': 'Backup codes renewed',
  'password.refused': 'Password refused',
  'signin.succeeded': 'Signed in',
  'signin.refused': 'Sign-in refused',
  rate_limited: 'Rate limited',
  'user.created': 'User added',
  'user.updated': 'User changed',
  'user.exempted': 'Exempted from the second factor',
  'user.unexempted': 'Exemption removed',
  'user.deleted': 'User deleted',
  'user.sessions_ended': 'Signed out everywhere',
  'client.created': 'Application added',
  'client.updated': 'Application changed',
  'client.deleted': 'Application deleted',
  'client.secret_rotated': 'Client secret renewed',
  'settings.updated': 'Settings changed',
  'data.exported': 'Data exported',
  'data.imported': 'Data imported',
  'keys.rotated': 'Keys rotated',
  'saml.signed_in': 'SAML assertion issued',
  'saml.refused': 'SAML sign-in refused',
  'saml.signed_out': 'SAML sign-out',
  'mail.sent': 'Mail sent',
  'mail.failed': 'Mail not sent',
  'password.reset_requested': 'Password reset link sent',
};

const factors: Record<string, string> = {
  totp: 'authenticator app',
  backup_code: 'backup code',
  hwk: 'security key',
  swk: 'passkey',
  webauthn: 'security key or passkey',
  remembered: 'remembered browser',
  none: 'password only',
};

/** The details of an event in a line: what changed (old → new), the factor, the reason. */
export function describeEvent(event: NamedAuditEvent): string {
  const parts: string[] = [];
  if (event.changes?.length) parts.push(event.changes.map((c) => `${c.field}: ${c.from ?? '—'} → ${c.to ?? '—'}`).join('; '));
  else if (event.changed?.length) parts.push(event.changed.join(', '));
  if (event.factor) parts.push(factors[event.factor] ?? event.factor);
  if (event.reason) parts.push(event.reason.replaceAll('_', ' '));
  return parts.join(' · ');
}
