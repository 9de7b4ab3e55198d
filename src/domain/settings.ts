import type { Clock } from './clock.ts';
import type { FactorSettings } from './factors.ts';
import type { MfaPolicy } from './mfa-policy.ts';
import type { SettingsStore, StoredSettings } from '../domain/ports.ts';

/** The settings administrators change at run time (SPEC section 4). */
export interface Settings {
  /** Master switch: off asks nobody for a second factor; registrations are kept. */
  enabled: boolean;
  /** Policy of applications that set no mfa_policy. */
  defaultPolicy: MfaPolicy;
  /** TOTP steps accepted either side of the expected one, 0–10. */
  skewSteps: number;
  /** Consecutive wrong second-factor codes that lock the user, 1–10. */
  maxAttempts: number;
  /** How long a lock lasts, in seconds; 0: until an administrator unlocks. */
  lockoutSeconds: number;
  /** Backup codes given after a registration: on or off, and how many. */
  backupCodes: { enabled: boolean; count: number };
  /** The name authenticator apps show for the account, and the QR code's issuer. */
  issuerLabel: string;
  /** Shown on the registration page. */
  registrationMessage: string;
  /** Whose sign-in pages these are: the organisation's name, and its logo when set. */
  brand: { name: string; logoUrl: string | null };
  /** Mail to users when their sign-in methods change (when mail can go out, to verified addresses). */
  notifications: { enabled: boolean };
  /** The second factors users may register: the authenticator app, and codes by mail (when mail can go out). */
  factors: FactorSettings;
  /**
   * Sign-in with a passkey instead of the password (one that verifies its user counts as
   * both factors), at the applications that allow it: off, no application offers it.
   */
  passkeySignIn: { enabled: boolean };
}

export const defaultSettings: Readonly<Settings> = Object.freeze({
  enabled: true,
  defaultPolicy: 'off',
  skewSteps: 1,
  maxAttempts: 5,
  lockoutSeconds: 900,
  backupCodes: Object.freeze({ enabled: true, count: 10 }),
  issuerLabel: 'twofold',
  registrationMessage: '',
  brand: Object.freeze({ name: 'twofold', logoUrl: null }),
  notifications: Object.freeze({ enabled: true }),
  factors: Object.freeze({
    totp: Object.freeze({ enabled: true }),
    email: Object.freeze({ enabled: false }),
    webauthn: Object.freeze({ enabled: true }),
  }),
  passkeySignIn: Object.freeze({ enabled: false }),
});

/**
 * Settings with a short per-node cache. A change is published to every node, which drops
 * its copy at once; should a message be lost, the copy expires after `maxAgeMs`, so every
 * node applies a change within that time. A store that cannot be read fails the request.
 */
export function createSettingsService(deps: {
  store: SettingsStore;
  clock: Clock;
  notify: () => Promise<void>;
  onChanged: (listener: () => void) => void;
  onNotifyFailed?: (err: unknown) => void;
  maxAgeMs?: number;
}) {
  const maxAgeMs = deps.maxAgeMs ?? 3000;
  let cached: { value: Settings; at: number } | undefined;
  let generation = 0;

  // Factors stored before security keys existed have no switch for them: the default's holds.
  const merge = (stored: StoredSettings): Settings => ({
    ...defaultSettings,
    ...stored,
    factors: { ...defaultSettings.factors, ...stored.factors },
  });
  deps.onChanged(() => {
    generation++;
    cached = undefined;
  });

  return {
    async get(): Promise<Settings> {
      if (cached && deps.clock.now() - cached.at < maxAgeMs) return cached.value;
      const started = generation;
      const value = Object.freeze(merge(await deps.store.get()));
      // A change announced while this read was under way may not be in it: do not keep it.
      if (started === generation) cached = { value, at: deps.clock.now() };
      return value;
    },
    async update(patch: Partial<Settings>): Promise<Settings> {
      const value = Object.freeze(merge(await deps.store.update(patch)));
      generation++;
      cached = { value, at: deps.clock.now() };
      try {
        await deps.notify();
      } catch (err) {
        // Stored all the same: the other nodes see it when their copy expires.
        deps.onNotifyFailed?.(err);
      }
      return value;
    },
  };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
