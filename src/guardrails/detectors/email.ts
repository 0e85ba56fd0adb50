/**
 * E-mail addresses: local part, `@`, a domain with a TLD of letters (`user@host` without one is not
 * matched). Local part and domain labels may hold Latin letters with diacritics (`müller@bücher.de`,
 * internationalised addresses); letters of other scripts end an address (`联系jane@example.com谢谢`). Not an
 * address: an SSH remote, `user@host:path` (`git@github.com:org/repo.git`).
 */
import { type Detector, eachMatch, trailingToken } from '../detector.js';

const L = String.raw`A-Za-z0-9\p{Script=Latin}`;
const EMAIL = new RegExp(
  String.raw`(?<![${L}._%+-])[${L}][${L}._%+-]{0,63}@(?:[${L}](?:[${L}-]{0,61}[${L}])?\.)+[A-Za-z]{2,24}(?![${L}_-]|\.[${L}]|:[\w~/.-])`,
  'gu',
);

const SPACE = /\s/;

export function emailDetector(): Detector {
  return {
    entity: 'email',
    find(text, out) {
      // Only the whitespace-free run around each `@` can hold an address: match there, not over the text.
      let last = -1;
      for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
        if (at < last) continue;
        let start = at;
        while (start > 0 && start > at - 65 && !SPACE.test(text.charAt(start - 1))) start--;
        let end = at + 1;
        while (end < text.length && end < at + 256 && !SPACE.test(text.charAt(end))) end++;
        last = end;
        const run = text.slice(start, end);
        eachMatch(EMAIL, run, (m) => {
          out.push({ start: start + m.index, end: start + m.index + m[0].length, entity: 'email' });
        });
      }
    },
    hold: (text) => trailingToken(text, 254),
  };
}
