import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ibanValid, italianFiscalCodeValid, luhnValid, spanishIdValid, ssnValid } from './checksums.js';
import { PolicyBook } from './policy.js';

const book = new PolicyBook({ policies: {}, phone_regions: ['US', 'GB'] });
const scanner = book.resolve([['pii']])?.input?.scanner;
if (!scanner) throw new Error('pii has an input scanner');

/** The entity types found in a text, with the matched text (tests only; values never leave the gateway). */
function found(text: string): Array<[string, string]> {
  return scanner!.scan(text).map((d) => [d.entity, text.slice(d.start, d.end)]);
}

function only(text: string, entity: string, value: string): void {
  assert.deepEqual(found(text), [[entity, value]], text);
}

function none(text: string): void {
  assert.deepEqual(found(text), [], text);
}

describe('checksums', () => {
  it('Luhn, mod-97, mod-23 letters, the codice fiscale check character, SSN rules', () => {
    assert.equal(luhnValid('4111111111111111'), true);
    assert.equal(luhnValid('4111111111111112'), false);
    assert.equal(ibanValid('DE89370400440532013000'), true);
    assert.equal(ibanValid('DE89370400440532013001'), false);
    assert.equal(ibanValid('GB82WEST12345698765432'), true);
    assert.equal(spanishIdValid('12345678Z'), true);
    assert.equal(spanishIdValid('12345678A'), false);
    assert.equal(spanishIdValid('X1234567L'), true);
    assert.equal(italianFiscalCodeValid('RSSMRA85T10A562S'), true);
    assert.equal(italianFiscalCodeValid('RSSMRA85T10A562T'), false);
    assert.equal(ssnValid('536', '22', '1234'), true);
    for (const [a, g, s] of [
      ['000', '22', '1234'],
      ['666', '22', '1234'],
      ['912', '22', '1234'],
      ['536', '00', '1234'],
      ['536', '22', '0000'],
      ['078', '05', '1120'],
    ]) {
      assert.equal(ssnValid(a as string, g as string, s as string), false, `${a}-${g}-${s}`);
    }
  });
});

describe('detectors', () => {
  it('email; not a decorator, a bare user@host or a scoped package', () => {
    only('write to jane.doe+news@mail.example.co.uk today', 'email', 'jane.doe+news@mail.example.co.uk');
    none('@Component({selector}) and git@localhost and npm i @types/node');
  });

  it('phone: international with +/00, national with separators, bare digits only after a phone word', () => {
    only('ring +44 20 7946 0958 now', 'phone', '+44 20 7946 0958');
    only('or 0049 30 901820.', 'phone', '0049 30 901820');
    only('office (415) 555-2671', 'phone', '(415) 555-2671');
    only('london 020 7946 0958', 'phone', '020 7946 0958');
    only('call me on 4155552671', 'phone', '4155552671');
    none('order 4155552671 shipped');
    none('at 2024-01-15 10:30:00 UTC, build 20240115103000');
    none('ISBN 978-3-16-148410-0 and part 123-4567-890');
  });

  it('phone: an extension written on (x123, ext5) and the NANP trunk prefix 1 do not hide the number', () => {
    only('call 415-555-2671x123', 'phone', '415-555-2671');
    only('desk (415) 555-2671ext.5', 'phone', '(415) 555-2671');
    only('ring +44 20 7946 0958x12', 'phone', '+44 20 7946 0958');
    only('Call us at 1-800-275-2273 today', 'phone', '1-800-275-2273');
    only('or 1 (415) 555-2671.', 'phone', '1 (415) 555-2671');
    none('call 415-555-2671abc');
    none('ids 1-415-555-26711');
  });

  it('credit card: issuer prefix, length and Luhn; one kind of separator', () => {
    only('card 4111 1111 1111 1111 exp', 'credit_card', '4111 1111 1111 1111');
    only('amex 3782-822463-10005', 'credit_card', '3782-822463-10005');
    only('mc 5555555555554444.', 'credit_card', '5555555555554444');
    none('card 4111 1111 1111 1112 (bad Luhn)');
    none('tracking 1234567812345670 (valid Luhn, no issuer)');
    none('mixed 4111 1111-1111 1111');
  });

  it('IBAN: country length and mod-97, spaced or not', () => {
    only('pay DE89 3704 0044 0532 0130 00 by Friday', 'iban', 'DE89 3704 0044 0532 0130 00');
    only('GB82WEST12345698765432', 'iban', 'GB82WEST12345698765432');
    none('DE89 3704 0044 0532 0130 01 (bad checksum)');
    none('XX89370400440532013000 (no such country)');
  });

  it('national ids: US SSN rules, UK NINO format, Spanish DNI/NIE letter, Italian codice fiscale', () => {
    only('SSN 536-22-1234.', 'us_ssn', '536-22-1234');
    only('my social security number is 536221234', 'us_ssn', '536221234');
    none('ref 666-22-1234 and 900-12-3456 and 536-00-1234');
    none('invoice 536221234');
    only('NI number AB 12 34 56 C', 'uk_nino', 'AB 12 34 56 C');
    none('QQ 12 34 56 C (Q is not a valid prefix letter)');
    none('GB123456A and BG 12 34 56 C');
    only('DNI 12345678Z', 'es_nif', '12345678Z');
    only('NIE X1234567L', 'es_nif', 'X1234567L');
    none('DNI 12345678A');
    only('CF RSSMRA85T10A562S', 'it_fiscal_code', 'RSSMRA85T10A562S');
    none('CF RSSMRA85T10A562T');
  });

  it('IP addresses, except dotted versions after "version"/"v" and longer dotted runs', () => {
    only('server at 10.0.12.7:8080', 'ip_address', '10.0.12.7');
    only('v6 2001:db8::8a2e:370:7334 up', 'ip_address', '2001:db8::8a2e:370:7334');
    none('version 1.2.3.4 and v10.0.0.1 and Version: 4.4.0.1 and release 2.0.0.1');
    none('1.2.3.4.5 and 999.1.1.1 and 10:30:00 and a::b');
  });

  it('secrets: provider formats and high-entropy tokens, not hashes, UUIDs or identifiers', () => {
    const keys = [
      'sk-proj-Abc123def456ghi789jkl012mno345',
      'sk-ant-api03-Abc123def456ghi789jkl012mno345pqr',
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
      'xoxb-123456789012-abcdefghijkl',
      'AIzaSyA1234567890abcdefghijklmnopqrstuv',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'Zx8kQ2mP9vL4nR7tY1wB6cF3hJ5sD0gA',
    ];
    for (const key of keys) only(`key: ${key} end`, 'secret', key);
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----';
    only(`here ${pem} there`, 'secret', pem);
    none(
      'commit 3f786850e387550fdab836ed7e6dc881de23001b sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    none('id 123e4567-e89b-12d3-a456-426614174000 and AbstractSingletonProxyFactoryBeanImpl2');
  });

  it('versions written like addresses: after a product name and "/", or a package, patch or section word', () => {
    none('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36');
    none('installed package 2.4.1.0 from pypi, patch 1.0.0.2, see section 4.2.1.3 and § 3.1.4.1');
    only('GET http://10.0.0.1/x', 'ip_address', '10.0.0.1');
    only('route 10.1.2.3/24 via eth0', 'ip_address', '10.1.2.3');
  });

  it('IPv4-mapped IPv6 addresses whole; e-mail addresses with Latin diacritics; SSH remotes are not addresses', () => {
    only('allow from ::ffff:192.0.2.1 only', 'ip_address', '::ffff:192.0.2.1');
    only('Kontakt: müller@example.de', 'email', 'müller@example.de');
    only('info@bücher.de bestellen', 'email', 'info@bücher.de');
    only('请联系jane@example.com谢谢', 'email', 'jane@example.com');
    only('mail jane@x.com: tomorrow', 'email', 'jane@x.com');
    none('git clone git@github.com:org/repo.git and ssh deploy@host.example.com:/srv/app');
  });

  it('public material is not a secret: certificates, public keys, SSH keys, data URLs, fingerprints', () => {
    const certificate = [
      '-----BEGIN CERTIFICATE-----',
      'MIIBhDCCASmgAwIBAgIUWc6d0zmb85jQxwjeBmu/G20nczAwCgYIKoZIzj0EAwIw',
      'FzEVMBMGA1UEAwwMZXhhbXBsZS50ZXN0MB4XDTI2MTIwNzIyMjYwOVoXDTI2MTIw',
      'ODIyMjYwOVowFzEVMBMGA1UEAwwMZXhhbXBsZS50ZXN0MFkwEwYHKoZIzj0CAQYI',
      'KoZIzj0DAQcDQgAEfhZ9WFnHOBYs+zl8kjpsWpRxL8JMtiDDByMhlLbCJ2tkPu2P',
      '6jm6QR6K7QM41LiTHUnezsp6DdkqKO4t4JML2aNTMFEwHQYDVR0OBBYEFOu9feI7',
      'HKVr55+ZQzKCwZS9OPeYMB8GA1UdIwQYMBaAFOu9feI7HKVr55+ZQzKCwZS9OPeY',
      'MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAMsdl3dJ8hR4WPs8',
      '7yhEcvzZVSmt6mKI3iSNfasKxWOnAiEA7IMkdfKCQi7yPRbw/YYXEdER+zjzuElN',
      'H4Q33Z4GBS8=',
      '-----END CERTIFICATE-----',
    ].join('\n');
    const publicKey = [
      '-----BEGIN PUBLIC KEY-----',
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfhZ9WFnHOBYs+zl8kjpsWpRxL8JM',
      'tiDDByMhlLbCJ2tkPu2P6jm6QR6K7QM41LiTHUnezsp6DdkqKO4t4JML2Q==',
      '-----END PUBLIC KEY-----',
    ].join('\n');
    none(`why does nginx reject this?\n${certificate}\nand ${publicKey}`);
    none('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJrzKeeyhvRCHf6h65rjFoMtlfGRhxu518bxXxYD0QSk me@laptop');
    none('256 SHA256:ZKxBLhnSuqtm6abUz5JYHjDedmbH4VoORmEEWEg2eYw me@laptop (ED25519)');
    none(
      '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==">',
    );
    // The same token outside such places is still a secret, as is one after an unterminated public block.
    const token = 'Zx8kQ2mP9vL4nR7tY1wB6cF3hJ5sD0gA';
    only(`${certificate}\ntoken ${token}`, 'secret', token);
    only(`-----BEGIN CERTIFICATE-----\n${token}`, 'secret', token);
  });

  it('base64 of prose is not a secret; base64 credentials and keys inside encoded prose are', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    none(`attachment body: ${b64('Please find the quarterly report attached, thanks!')}`);
    none(`log: msg=${b64('Basic auth for the staging box is admin:Zq7-Hunter2')}`);
    // user:password has no spaces: not prose, still a high-entropy token.
    const basic = b64('admin:Zx8kQ2mP9vL4nR7tY1wB6cF3');
    only(`curl -H 'Authorization: Basic ${basic}'`, 'secret', basic);
    // Prose after `Basic ` is credentials all the same.
    const proseCredentials = b64('the team shared this Zq7 password');
    only(`Authorization: Basic ${proseCredentials}`, 'secret', proseCredentials);
    // Encoded prose that carries a provider key is a secret.
    const withKey = b64('the key is sk-proj-Zx8kQ2mP9vL4nR7tY1wB6cF3hJ5sD0gA ok');
    only(`config: ${withKey}`, 'secret', withKey);
  });

  it('custom patterns and deny-lists from a policy', () => {
    const custom = new PolicyBook({
      policies: {
        corp: {
          input: true,
          output: true,
          restore: false,
          entities: {},
          patterns: [
            { name: 'ticket', regex: 'PRJ-\\d{4}', action: 'mask', ignore_case: false, max_length: 8 },
          ],
          deny_list: { terms: ['Project Falcon', 'acme'], action: 'block' },
        },
      },
      phone_regions: ['US'],
    }).resolve([['corp']])?.input?.scanner;
    const text = 'see PRJ-1234 about project falcon for ACME, not acmed';
    assert.deepEqual(
      custom?.scan(text).map((d) => [d.entity, text.slice(d.start, d.end)]),
      [
        ['ticket', 'PRJ-1234'],
        ['deny_list', 'project falcon'],
        ['deny_list', 'ACME'],
      ],
    );
  });

  it('a policy with an invalid regex fails at start with its path', () => {
    assert.throws(
      () =>
        new PolicyBook({
          policies: {
            bad: {
              input: true,
              output: true,
              restore: false,
              entities: {},
              patterns: [{ name: 'x', regex: '(', action: 'mask', ignore_case: false, max_length: 8 }],
            },
          },
          phone_regions: [],
        }),
      /guardrails\.policies\.bad\.patterns\.x: invalid regex/,
    );
  });

  it('runs of millions of token characters (a pasted base64 file) are scanned, not a crash; keys in them still found', () => {
    // 6 M characters: past where an unbounded `{32,}` overflows the regex engine's backtrack stack.
    const run = (unit: string) => unit.repeat(Math.ceil(6_000_000 / unit.length));
    for (const text of [run('a'), run('7'), run('aB3+'), run('-'), `eyJ${run('a')}`, `xoxb-${run('a')}`]) {
      assert.doesNotThrow(() => scanner!.scan(`Here is the attachment:\n${text}\nThanks.`));
    }
    const key = `sk-proj-${'Ab1'.repeat(20)}`;
    const around = `${run('aB3+')} ${key} ${run('aB3+')}`;
    assert.deepEqual(
      found(around).filter(([entity]) => entity === 'secret'),
      [['secret', key]],
    );
  });
});
