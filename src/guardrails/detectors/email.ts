/** E-mail addresses: local part, `@`, a domain with a TLD of letters (`user@host` without one is not matched). */
import { type Detector, eachMatch, trailingToken } from '../detector.js';

const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])/g;

export function emailDetector(): Detector {
  return {
    entity: 'email',
    find(text, out) {
      if (!text.includes('@')) return;
      eachMatch(EMAIL, text, (m) => {
        out.push({ start: m.index, end: m.index + m[0].length, entity: 'email' });
      });
    },
    hold: (text) => trailingToken(text, 254),
  };
}
