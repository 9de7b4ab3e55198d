import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ApiError, createApi } from './api.ts';
import { commands as coreCommands, UsageError, type Command } from './commands.ts';
import { samlCommands } from './saml-commands.ts';

const commands: Command[] = [...coreCommands, ...samlCommands];

/**
 * `twofold`: a thin client of the admin API. Exit 0 on success, 1 when the API (or the
 * network) refuses, with its message, and 2 on bad usage.
 */
const globalOptions = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usage(): string {
  const width = Math.max(...commands.map((c) => `${c.name} ${c.args}`.length));
  return [
    'usage: twofold COMMAND [ARGS] [OPTIONS] [--json] [--url URL] [--token TOKEN]',
    '',
    'The admin API is at TWOFOLD_URL (default http://localhost:$PORT, or :3000) with ADMIN_TOKEN, or --url and --token.',
    '',
    ...commands.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`),
    '',
    'twofold COMMAND --help shows one command.',
  ].join('\n');
}

function commandHelp(command: Command): string {
  const options = Object.entries(command.options ?? {}).map(
    ([name, option]) => `  --${name}${option.type === 'string' ? ' VALUE' : ''}${option.multiple ? ' (repeatable)' : ''}`,
  );
  return [
    `usage: twofold ${command.name} ${command.args}`.trimEnd(),
    '',
    command.summary,
    ...(options.length ? ['', 'options:', ...options] : []),
    '',
    'also: --json, --url URL, --token TOKEN',
  ].join('\n');
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

export async function run(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  const command = commands.find((c) => c.name === words.slice(0, 2).join(' ')) ?? commands.find((c) => c.name === words[0]);
  if (!command) {
    const wantsHelp = argv.length === 0 || argv.includes('--help') || argv.includes('-h') || argv[0] === 'help';
    (wantsHelp ? out : err)(
      wantsHelp ? usage() : `twofold: unknown command${words.length ? ` "${words.slice(0, 2).join(' ')}"` : ''}\n\n${usage()}`,
    );
    return wantsHelp ? 0 : 2;
  }
  const nameWords = command.name.split(' ').length;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...globalOptions, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    err(`twofold ${command.name}: ${(error as Error).message}\n\n${commandHelp(command)}`);
    return 2;
  }
  if (parsed.values.help) {
    out(commandHelp(command));
    return 0;
  }
  const positionals = parsed.positionals.slice(nameWords);
  const [least, most] = command.positionals;
  if (positionals.length < least || positionals.length > most) {
    err(`twofold ${command.name}: expected ${command.args || 'no arguments'}\n\n${commandHelp(command)}`);
    return 2;
  }
  // On the machine twofold runs on, the port it listens on (PORT) is where the API is.
  const url =
    (parsed.values.url as string | undefined) ??
    env.TWOFOLD_URL ??
    `http://localhost:${/^\d{1,5}$/.test(env.PORT ?? '') ? env.PORT : 3000}`;
  const token = (parsed.values.token as string | undefined) ?? env.ADMIN_TOKEN;
  if (!token) {
    err('twofold: no admin token: set ADMIN_TOKEN or give --token');
    return 2;
  }
  try {
    const result = await command.run({ api: createApi(url, token), positionals, values: parsed.values as never, readStdin });
    out(parsed.values.json || !command.text ? JSON.stringify(result, null, 2) : command.text(result));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`twofold ${command.name}: ${error.message}`);
      return 2;
    }
    if (error instanceof ApiError) {
      err(
        parsed.values.json
          ? JSON.stringify({ error: error.code, message: error.message })
          : `twofold: ${error.message}${error.code !== 'unreachable' ? ` (${error.code})` : ''}`,
      );
      return 1;
    }
    throw error;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const code = await run(
    process.argv.slice(2),
    process.env,
    (text) => process.stdout.write(`${text}\n`),
    (text) => process.stderr.write(`${text}\n`),
  );
  process.exitCode = code;
}
