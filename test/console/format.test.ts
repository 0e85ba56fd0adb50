/** The console's formatting and CSV helpers (console/src/format.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvField, ms, percent, time, toCsv, usd, usdTick } from '../../console/src/format.js';

test('money, durations, shares and times read well', () => {
  assert.equal(usd(null), '—');
  // One precision for every amount (decision 0237): $0.0105 is not "$0.01" next to "$0.004790".
  assert.equal(usd(0), '$0.000000');
  assert.equal(usd(0.000123), '$0.000123');
  assert.equal(usd(0.0105), '$0.010500');
  assert.equal(usd(0.00479), '$0.004790');
  assert.equal(usd(12.345), '$12.345000');
  assert.equal(usd(47.51209), '$47.512090');
  assert.equal(usd(1234.5), '$1,234.500000');
  assert.equal(usd(-0.5), '-$0.500000');
  assert.equal(usdTick(0.0025), '$0.0025');
  assert.equal(usdTick(12.5), '$12.5');
  assert.equal(usdTick(0), '$0');
  assert.equal(ms(412.4), '412 ms');
  assert.equal(ms(12_500), '12.5 s');
  assert.equal(percent(1, 0), '—');
  assert.equal(percent(1, 8), '12.5%');
  assert.equal(time('2025-02-18T09:30:12.345Z'), '2025-02-18 09:30:12');
});

test('CSV: RFC 4180 quoting, and formulas defused for spreadsheets', () => {
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvField(-1.5), '-1.5', 'a negative number stays a number');
  assert.equal(csvField(null), '');
  assert.equal(
    toCsv(
      ['model', 'cost'],
      [
        { model: 'gpt-4o', cost: 1.25 },
        { model: 'a"b', cost: 0 },
      ],
    ),
    'model,cost\r\ngpt-4o,1.25\r\n"a""b",0\r\n',
  );
});
