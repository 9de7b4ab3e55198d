import { AppError } from '../domain/errors.ts';
import type { Settings } from '../domain/settings.ts';
import { settingsDocument } from './admin/schemas.ts';
import { parseInput } from './validate.ts';

// How long the check of a logo path waits for this node's own answer.
const LOGO_CHECK_MS = 3000;

/**
 * The check of settings after a change, before anything is written: the whole document
 * as the schema allows it, and a logo at a path on this server that this server really
 * serves as an image (a path that 404s would break every page's header). An https logo is
 * not fetched: twofold does not make requests to addresses an administrator types.
 */
export function createSettingsCheck(deps: { localOrigin: () => string | undefined }) {
  return async (merged: unknown, current: Settings): Promise<Settings> => {
    const settings = parseInput(settingsDocument, merged) as Settings;
    const logo = settings.brand.logoUrl;
    if (logo && logo.startsWith('/') && logo !== current.brand.logoUrl) {
      const origin = deps.localOrigin();
      if (!origin) throw new AppError('store_unavailable', 'brand.logoUrl: cannot be checked yet; try again in a moment');
      const answer = await fetch(new URL(logo, origin), { signal: AbortSignal.timeout(LOGO_CHECK_MS), redirect: 'manual' }).catch(
        () => null,
      );
      const type = answer?.headers.get('content-type') ?? '';
      await answer?.body?.cancel();
      if (!answer || answer.status !== 200 || !type.startsWith('image/')) {
        throw new AppError('invalid_request', `brand.logoUrl: no image is served at ${logo} on this server`);
      }
    }
    return settings;
  };
}

export type SettingsCheck = ReturnType<typeof createSettingsCheck>;
