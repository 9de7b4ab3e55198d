import type { Router, RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import type { SettingsService } from '../../domain/settings.ts';
import { parseInput } from '../validate.ts';

const settingsPatch = z
  .strictObject({
    enabled: z.boolean(),
    defaultPolicy: z.enum(mfaPolicies),
    skewSteps: z.number().int().min(0, { message: 'an integer from 0 to 10' }).max(10, { message: 'an integer from 0 to 10' }),
    maxAttempts: z.number().int().min(1, { message: 'an integer from 1 to 10' }).max(10, { message: 'an integer from 1 to 10' }),
    lockoutSeconds: z
      .number()
      .int()
      .min(0, { message: 'seconds from 0 (until an administrator unlocks) to 7776000 (90 days)' })
      .max(7_776_000, { message: 'seconds from 0 (until an administrator unlocks) to 7776000 (90 days)' }),
    backupCodes: z.strictObject({
      enabled: z.boolean(),
      count: z.number().int().min(1, { message: 'an integer from 1 to 20' }).max(20, { message: 'an integer from 1 to 20' }),
    }),
    // It names the account in the app and in the otpauth URI, where ':' separates the two.
    issuerLabel: z
      .string()
      .trim()
      .regex(/^[^:\p{Cc}]{1,64}$/u, { message: '1 to 64 characters, without ":" or control characters' }),
    registrationMessage: z.string().max(2000, { message: 'at most 2000 characters' }),
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change' });

export function mountSettingsRoutes(
  router: Router,
  deps: { settings: SettingsService; json: RouterMiddleware; onChange: (changed: string[]) => void },
) {
  router.get('/settings', async (ctx) => {
    ctx.body = await deps.settings.get();
  });

  router.patch('/settings', deps.json, async (ctx) => {
    const patch = parseInput(settingsPatch, ctx.request.body);
    ctx.body = await deps.settings.update(patch);
    deps.onChange(Object.keys(patch));
  });
}
