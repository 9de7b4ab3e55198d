import Router from '@koa/router';
import type { OutgoingMail } from '../domain/ports.ts';

/**
 * The embedded demo's mailbox at /demo/mail: the newest mails twofold printed to the
 * terminal, so a newcomer without a mail server sees what users receive. Embedded mode
 * only (nothing here in production); the mails are shown as text, never as HTML.
 */
export function createDemoMailRoutes(outbox: () => (OutgoingMail & { at: Date })[]) {
  const router = new Router({ prefix: '/demo' });
  router.get('/mail', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    await ctx.render('demo-mail', {
      title: 'Demo mailbox',
      mails: outbox().map((mail) => ({ ...mail, at: mail.at.toISOString() })),
    });
  });
  return router;
}
