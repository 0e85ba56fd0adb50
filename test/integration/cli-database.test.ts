/**
 * Every CLI command that opens the database fails clearly when it cannot: exit 1, the real connection error on
 * stderr, nothing on stdout (a `--json` consumer gets no log line), within a bounded time (audit G, F1: the
 * commands exited 0 after one log line on stdout, so `keys revoke` "succeeded" without revoking).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DATABASE_URL, requireServices } from '../helpers/services.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/llm-gateway.mjs');

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: Record<string, string>): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }));
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const COMMANDS = [
  ['keys', 'list', '--json'],
  ['keys', 'create', '--name', 'x', '--user', 'y'],
  ['keys', 'revoke', 'key_0123456789abcdef0123'],
  ['orgs', 'list', '--json'],
  ['teams', 'create', '--name', 'z'],
  ['spend', 'rebuild-rollups'],
  ['prompts', 'list', '--json'],
];

test('CLI database commands against a refused connection: exit 1, ECONNREFUSED on stderr, stdout empty', async () => {
  const port = await closedPort();
  const env = { DATABASE_URL: `postgres://postgres:pw-not-shown@127.0.0.1:${port}/gw` };
  const outcomes = await Promise.all(COMMANDS.map((args) => run(args, env)));
  outcomes.forEach((out, i) => {
    const name = (COMMANDS[i] as string[]).join(' ');
    assert.equal(out.status, 1, `${name}: ${out.stderr}`);
    assert.equal(out.stdout, '', `${name}: stdout`);
    assert.match(
      out.stderr,
      new RegExp(
        `^cannot open the database at 127\\.0\\.0\\.1:${port}/gw \\(PostgreSQL, DATABASE_URL\\): .*ECONNREFUSED`,
        'm',
      ),
      name,
    );
    assert.doesNotMatch(out.stderr, /pw-not-shown/, name);
    assert.ok(out.ms < 60_000, `${name}: ${out.ms} ms`);
  });
});

describe('CLI against PostgreSQL', { skip: await requireServices('postgres') }, () => {
  test('a database that does not exist is named on stderr, exit 1', async () => {
    const url = new URL(DATABASE_URL);
    url.pathname = `/gw_missing_${randomBytes(4).toString('hex')}`;
    const out = await run(['keys', 'list', '--json'], { DATABASE_URL: url.href });
    assert.equal(out.status, 1, out.stderr);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /database "gw_missing_\w+" does not exist/);
  });
});
