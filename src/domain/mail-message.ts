import type { MailKind, OutgoingMail } from './ports.ts';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

// A subject is one header line: whatever came from a setting or a user, never a line break.
const oneLine = (text: string) => text.replace(/[\r\n\p{Cc}]+/gu, ' ').trim();

/** A time as mails state it: `2026-12-02 10:00 UTC`, whatever the reader's client. */
export const mailTime = (at: Date) => `${at.toISOString().replace('T', ' ').slice(0, 16)} UTC`;

/**
 * A mail in plain text and in simple HTML (one column, system fonts, no image, no link
 * tracking, nothing fetched when it is opened), signed with the organisation's name.
 */
export function composeMail(input: {
  kind: MailKind;
  to: string;
  userId?: string | undefined;
  organisation: string;
  subject: string;
  greeting: string;
  paragraphs: readonly string[];
  facts?: readonly [string, string][];
}): OutgoingMail {
  const facts = input.facts ?? [];
  const text = [
    input.greeting,
    '',
    ...input.paragraphs.flatMap((p) => [p, '']),
    ...(facts.length ? [...facts.map(([name, value]) => `${name}: ${value}`), ''] : []),
    `— ${input.organisation}`,
    '',
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1b1f24;max-width:36rem;margin:0 auto;padding:1rem">',
    `<p style="font-weight:700;margin:0 0 1rem">${escapeHtml(input.organisation)}</p>`,
    `<p>${escapeHtml(input.greeting)}</p>`,
    ...input.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    facts.length
      ? `<table style="border-collapse:collapse">${facts
          .map(
            ([name, value]) =>
              `<tr><th style="text-align:left;padding:.2rem 1rem .2rem 0">${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`,
          )
          .join('')}</table>`
      : '',
    `<p style="color:#57606a">— ${escapeHtml(input.organisation)}</p>`,
    '</body></html>',
  ].join('\n');
  return { kind: input.kind, to: input.to, userId: input.userId, subject: oneLine(`${input.subject} · ${input.organisation}`), text, html };
}
