/**
 * Generators of labelled values for the guardrails evaluation: valid entities of each type (check digits
 * computed, phone numbers valid per libphonenumber's metadata) and hard negatives that look like them
 * (order numbers, timestamps, versions, UUIDs, hashes, product codes, wrong check digits).
 */
import type { MetadataJson } from 'libphonenumber-js/core';
import { parsePhoneNumberFromString } from 'libphonenumber-js/core';
import metadata from 'libphonenumber-js/min/metadata';

export type Rand = () => number;

export function pick<T>(r: Rand, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)] as T;
}
export function digits(r: Rand, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
}
function int(r: Rand, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const HEX = '0123456789abcdef';
const ALNUM = `${UPPER}abcdefghijklmnopqrstuvwxyz0123456789`;
function chars(r: Rand, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet.charAt(Math.floor(r() * alphabet.length));
  return s;
}

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

function group(s: string, sizes: number[], sep: string): string {
  const out: string[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= s.length) break;
    out.push(s.slice(at, at + size));
    at += size;
  }
  if (at < s.length) out.push(s.slice(at));
  return out.join(sep);
}

export function email(r: Rand): string {
  const first = pick(r, ['jane', 'john', 'ana', 'li', 'omar', 'sofia', 'k.tanaka', 'mike', 'priya', 'lars']);
  const last = pick(r, [
    'doe',
    'smith',
    'garcia',
    'wang',
    'haddad',
    'rossi',
    'ng',
    'müller'.replace('ü', 'u'),
  ]);
  const sep = pick(r, ['.', '_', '', '+work.']);
  const domain = pick(r, [
    'example.com',
    'mail.example.org',
    'corp.io',
    'uni-bonn.de',
    'acme.co.uk',
    'startup.ai',
  ]);
  return `${first}${sep}${last}${r() < 0.3 ? int(r, 1, 99) : ''}@${domain}`;
}

const META = metadata as unknown as MetadataJson;
const PHONE_FORMATS: Array<(r: Rand) => string> = [
  (r) =>
    `+1 ${pick(r, ['212', '415', '646', '312', '617', '202', '305', '713', '206', '503'])} ${int(r, 200, 999)} ${digits(r, 4)}`,
  (r) => `(${pick(r, ['212', '415', '646', '312', '617'])}) ${int(r, 200, 999)}-${digits(r, 4)}`,
  (r) => `${pick(r, ['212', '415', '646', '312', '617'])}-${int(r, 200, 999)}-${digits(r, 4)}`,
  (r) => `${pick(r, ['202', '305', '713'])}.${int(r, 200, 999)}.${digits(r, 4)}`,
  (r) => `+44 20 7946 ${digits(r, 4)}`,
  (r) => `020 7946 ${digits(r, 4)}`,
  (r) => `+44 7700 900${digits(r, 3)}`,
  (r) => `+49 30 ${digits(r, 7)}`,
  (r) => `+49 89 ${digits(r, 7)}`,
  (r) => `+33 1 ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)}`,
  (r) => `+33 6 ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)}`,
  (r) => `+34 612 ${digits(r, 3)} ${digits(r, 3)}`,
  (r) => `+81 3-${digits(r, 4)}-${digits(r, 4)}`,
];
/** A phone number libphonenumber's metadata calls valid (regenerated until it is). */
export function phone(r: Rand): string {
  for (;;) {
    const candidate = pick(r, PHONE_FORMATS)(r);
    const region = candidate.startsWith('(') || /^\d{3}[-.]/.test(candidate) ? 'US' : 'GB';
    const parsed = candidate.startsWith('+')
      ? parsePhoneNumberFromString(candidate, META)
      : parsePhoneNumberFromString(candidate, region, META);
    if (parsed?.isValid()) return candidate;
  }
}

const CARD_PREFIXES: Array<[string, number]> = [
  ['4', 16],
  ['4', 16],
  ['51', 16],
  ['55', 16],
  ['2221', 16],
  ['34', 15],
  ['37', 15],
  ['6011', 16],
  ['65', 16],
  ['3530', 16],
];
export function creditCard(r: Rand, valid = true): string {
  const [prefix, length] = pick(r, CARD_PREFIXES);
  const body = prefix + digits(r, length - prefix.length - 1);
  let check = luhnDigit(body);
  if (!valid) check = String((Number(check) + int(r, 1, 9)) % 10);
  const number = body + check;
  const sep = pick(r, [' ', '-', '']);
  return length === 15 ? group(number, [4, 6, 5], sep) : group(number, [4, 4, 4, 4], sep);
}

function ibanCheck(country: string, bban: string): string {
  const rearranged = `${bban}${country}00`;
  let rest = 0;
  for (const c of rearranged) {
    const code = c.charCodeAt(0);
    const v = code >= 65 ? String(code - 55) : c;
    for (const d of v) rest = (rest * 10 + Number(d)) % 97;
  }
  return pad(98 - rest, 2);
}
export function iban(r: Rand, valid = true): string {
  const [country, bban] = pick(r, [
    ['DE', digits(r, 18)],
    ['GB', `${chars(r, UPPER, 4)}${digits(r, 14)}`],
    ['FR', `${digits(r, 10)}${chars(r, UPPER + '0123456789', 11)}${digits(r, 2)}`],
    ['ES', digits(r, 20)],
    ['NL', `${chars(r, UPPER, 4)}${digits(r, 10)}`],
    ['IT', `${chars(r, UPPER, 1)}${digits(r, 10)}${chars(r, '0123456789', 12)}`],
  ] as Array<[string, string]>);
  let check = ibanCheck(country, bban);
  if (!valid) check = pad((Number(check) + int(r, 1, 50)) % 97 || 3, 2);
  const compact = `${country}${check}${bban}`;
  return r() < 0.6 ? group(compact, [4, 4, 4, 4, 4, 4, 4, 4], ' ') : compact;
}

export function ssn(r: Rand, valid = true): string {
  if (!valid) {
    const bad = pick(r, [
      `000-${pad(int(r, 1, 99), 2)}`,
      `666-${pad(int(r, 1, 99), 2)}`,
      `9${digits(r, 2)}-${pad(int(r, 1, 99), 2)}`,
      `${int(r, 100, 665)}-00`,
    ]);
    return `${bad}-${pad(int(r, 1, 9999), 4)}`;
  }
  const area = pick(r, [int(r, 1, 665), int(r, 667, 899)]);
  return `${pad(area, 3)}-${pad(int(r, 1, 99), 2)}-${pad(int(r, 1, 9999), 4)}`;
}

export function nino(r: Rand): string {
  const first = 'ABCEGHJKLMNOPRSTWXYZ';
  const second = 'ABCEGHJKLMNPRSTWXYZ';
  let prefix = '';
  do prefix = chars(r, first, 1) + chars(r, second, 1);
  while (['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ'].includes(prefix));
  const d = digits(r, 6);
  const suffix = chars(r, 'ABCD', 1);
  return r() < 0.5
    ? `${prefix}${d}${suffix}`
    : `${prefix} ${d.slice(0, 2)} ${d.slice(2, 4)} ${d.slice(4)} ${suffix}`;
}

const DNI = 'TRWAGMYFPDXBNJZSQVHLCKE';
export function spanishId(r: Rand, valid = true): string {
  const nie = r() < 0.3;
  const lead = nie ? pick(r, ['X', 'Y', 'Z']) : '';
  const number = nie ? digits(r, 7) : digits(r, 8);
  const value = Number((nie ? String('XYZ'.indexOf(lead)) : '') + number);
  let letter = DNI.charAt(value % 23);
  if (!valid) letter = DNI.charAt((value + int(r, 1, 22)) % 23);
  return `${lead}${number}${letter}`;
}

const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
export function fiscalCode(r: Rand, valid = true): string {
  const body = `${chars(r, UPPER, 6)}${digits(r, 2)}${chars(r, 'ABCDEHLMPRST', 1)}${pad(int(r, 1, 71), 2)}${chars(r, UPPER, 1)}${digits(r, 3)}`;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = body.charCodeAt(i);
    const v = c <= 57 ? c - 48 : c - 65;
    sum += i % 2 === 0 ? (CF_ODD[v] as number) : v;
  }
  const check = String.fromCharCode(65 + ((sum + (valid ? 0 : int(r, 1, 25))) % 26));
  return body + check;
}

export function ip(r: Rand): string {
  if (r() < 0.7) {
    return pick(r, [
      () => `10.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`,
      () => `192.168.${int(r, 0, 255)}.${int(r, 1, 254)}`,
      () => `${int(r, 11, 223)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`,
    ])();
  }
  const groups = Array.from({ length: 8 }, () => int(r, 0, 0xffff).toString(16));
  if (r() < 0.5) return `2001:db8::${groups[6]}:${groups[7]}`;
  return ['2001', 'db8', ...groups.slice(2)].join(':');
}

export function secret(r: Rand): string {
  return pick(r, [
    () => `sk-proj-${chars(r, ALNUM, 40)}`,
    () => `sk-${chars(r, ALNUM, 48)}`,
    () => `sk-ant-api03-${chars(r, `${ALNUM}_-`, 90)}`,
    () => `AKIA${chars(r, `${UPPER}234567`, 16)}`,
    () => `ghp_${chars(r, ALNUM, 36)}`,
    () => `xoxb-${digits(r, 12)}-${digits(r, 12)}-${chars(r, ALNUM, 24)}`,
    () => `AIza${chars(r, `${ALNUM}_-`, 35)}`,
    () => `eyJhbGciOiJIUzI1NiJ9.eyJ${chars(r, ALNUM, 30)}.${chars(r, `${ALNUM}_-`, 43)}`,
    () => chars(r, ALNUM, int(r, 32, 48)),
  ])();
}

/** Hard negatives: text that looks like an entity and is not one. */
export const HARD_NEGATIVES: Array<(r: Rand) => string> = [
  (r) => `Order #${digits(r, int(r, 8, 12))}`,
  (r) => `order number ${int(r, 1, 9)}${digits(r, 9)}`,
  (r) => `tracking ${int(r, 1, 9)}${digits(r, 15)}`,
  (r) =>
    `at 20${int(r, 10, 29)}-${pad(int(r, 1, 12), 2)}-${pad(int(r, 1, 28), 2)}T${pad(int(r, 0, 23), 2)}:${pad(int(r, 0, 59), 2)}:${pad(int(r, 0, 59), 2)}Z`,
  (r) =>
    `20${int(r, 10, 29)}-${pad(int(r, 1, 12), 2)}-${pad(int(r, 1, 28), 2)} ${pad(int(r, 0, 23), 2)}:${pad(int(r, 0, 59), 2)}:${pad(int(r, 0, 59), 2)}`,
  (r) => `epoch 1${digits(r, 9)}`,
  (r) => `version ${int(r, 1, 20)}.${int(r, 0, 20)}.${int(r, 0, 50)}.${int(r, 0, 999)}`,
  (r) => `v${int(r, 1, 20)}.${int(r, 0, 9)}.${int(r, 0, 9)}.${int(r, 0, 99)}`,
  (r) => `release ${int(r, 1, 9)}.${int(r, 0, 9)}.${int(r, 0, 9)}`,
  (r) => `${int(r, 1, 9)}.${int(r, 0, 9)}.${int(r, 0, 9)}.${int(r, 0, 9)}.${int(r, 0, 9)}`,
  (r) =>
    `id ${chars(r, HEX, 8)}-${chars(r, HEX, 4)}-4${chars(r, HEX, 3)}-a${chars(r, HEX, 3)}-${chars(r, HEX, 12)}`,
  (r) => `commit ${chars(r, '0123456789abcdef', 40)}`,
  (r) => `sha256: ${chars(r, '0123456789abcdef', 64)}`,
  (r) => `const hash = "${chars(r, '0123456789abcdef', 32)}";`,
  (r) => `SKU ${digits(r, 4)}-${digits(r, 5)}`,
  (r) => `part ${chars(r, UPPER, 2)}-${digits(r, 4)}-${digits(r, 4)}`,
  (r) => `model ${digits(r, 3)}-${digits(r, 4)}-${digits(r, 2)}X`,
  (r) => `card ${creditCard(r, false)}`,
  (r) => `IBAN ${iban(r, false)}`,
  (r) => `ref ${ssn(r, false)}`,
  (r) => `DNI ${spanishId(r, false)}`,
  (r) => `CF ${fiscalCode(r, false)}`,
  (r) => `${int(r, 256, 999)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 0, 255)}`,
  (r) => `at ${pad(int(r, 0, 23), 2)}:${pad(int(r, 0, 59), 2)}:${pad(int(r, 0, 59), 2)}`,
  () => 'call getUserAccountBalanceForQuarter2Report() on AbstractSingletonProxyFactoryBeanImpl2',
  (r) => `std::map<int, ${pick(r, ['a', 'b'])}::b> and @Component`,
  (r) => `price $${int(r, 1, 999)}.${pad(int(r, 0, 99), 2)} for ${int(r, 2, 40)} units`,
];
