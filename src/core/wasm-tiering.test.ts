import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import {
  NO_TIER_UP_FLAGS,
  noTierUpForDatabase,
  WASM_TIERING_DEFAULTS,
  wasmFlagsGiven,
  wasmOptimiserNeeded,
  wasmTiering,
} from './wasm-tiering.js';

const none = { execArgv: [], nodeOptions: undefined };

test("the operator's V8 WebAssembly flags are recognised (then nothing is changed)", async () => {
  assert.equal(wasmFlagsGiven([], undefined), false);
  assert.equal(wasmFlagsGiven(['--max-old-space-size=512'], '--enable-source-maps'), false);
  assert.equal(wasmFlagsGiven(['--liftoff-only'], undefined), true);
  assert.equal(wasmFlagsGiven([], '--no-wasm-tier-up'), true);
  assert.equal(
    await noTierUpForDatabase(async () => 'opened', { execArgv: ['--liftoff-only'], nodeOptions: '' }),
    'opened',
  );
  assert.equal(wasmTiering(), 'operator');
});

test('the database opens with tier-up off and it stays off until the embedding model asks for TurboFan', async () => {
  // The open's result and its failure come through.
  await assert.rejects(
    noTierUpForDatabase(async () => Promise.reject(new Error('open failed')), none),
    /open failed/,
  );
  const db = await noTierUpForDatabase(() => PGlite.create(), none);
  assert.equal(wasmTiering(), 'no-tier-up');
  assert.equal((await db.query<{ n: number }>('select 1 + 1 as n')).rows[0]?.n, 2);
  wasmOptimiserNeeded();
  assert.equal(wasmTiering(), 'default');
  // A database opened once the model asked: no tier-up while it compiles, the defaults after.
  const second = await noTierUpForDatabase(() => PGlite.create(), none);
  assert.equal(wasmTiering(), 'default');
  assert.equal((await second.query<{ n: number }>('select 2 + 2 as n')).rows[0]?.n, 4);
  await Promise.all([db.close(), second.close()]);
});

test("the flags put back are this Node's defaults (node --v8-options)", () => {
  const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  for (const flag of WASM_TIERING_DEFAULTS.split(' ')) {
    const name = flag.replace(/^--/, '');
    assert.match(options, new RegExp(`--${name}\\b[^\\n]*\\n[^\\n]*default: --${name}\\b`), flag);
  }
});

// What decision 0168 relies on, checked on the running V8 (this file is in the Node 22/24 subset): with the
// flags set at run time, a hot function stays on Liftoff; with the defaults put back, a module compiled
// afterwards is tiered up by TurboFan. `%IsTurboFanFunction` needs --allow-natives-syntax: a child process.
test('set at run time, the flags keep a hot function on Liftoff; the defaults put back let TurboFan in', () => {
  const script = `
    const { setFlagsFromString } = await import('node:v8');
    // (func (export "f") (param i32) (result i32) local.get 0 i32.const K i32.add): K differs per module,
    // so V8's module cache does not hand the second module the first one's code.
    const wasm = (k) => new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0,
      7, 5, 1, 1, 102, 0, 0, 10, 9, 1, 7, 0, 32, 0, 65, k, 106, 11]);
    const hot = async (f, control) => {  // runs f and control until control is on TurboFan
      let x = 0;
      let rounds = 0;
      // TurboFan compiles in the background: yield between rounds.
      while (!%IsTurboFanFunction(control) && rounds++ < 3000) {
        for (let i = 0; i < 100000; i++) x = control(f(x));
        await new Promise((resolve) => setImmediate(resolve));
      }
      return rounds;
    };
    setFlagsFromString(${JSON.stringify(NO_TIER_UP_FLAGS)});
    const kept = (await WebAssembly.instantiate(wasm(1))).instance.exports.f;
    // As hot as the control below ever needs (it is tiered up within a few of these rounds), and longer.
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 100000; i++) kept(i);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const keptAfterHot = %IsTurboFanFunction(kept);
    setFlagsFromString(${JSON.stringify(WASM_TIERING_DEFAULTS)});
    const later = (await WebAssembly.instantiate(wasm(2))).instance.exports.f;
    const rounds = await hot((x) => x, later);
    console.log(JSON.stringify({ keptAfterHot, later: %IsTurboFanFunction(later), rounds }));
  `;
  const out = execFileSync(
    process.execPath,
    ['--allow-natives-syntax', '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
    },
  );
  const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
  assert.equal(
    result.keptAfterHot,
    false,
    `a hot function compiled with tier-up off stayed on Liftoff (${out})`,
  );
  assert.equal(result.later, true, `with the defaults back, a module compiled afterwards tiered up (${out})`);
});
