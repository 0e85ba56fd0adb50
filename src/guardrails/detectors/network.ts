/**
 * IP addresses. IPv4: four dotted octets 0–255, unless context says it is a version: right after `v` / `V`
 * (`v1.2.3.4`), after a product name and `/` (`Chrome/120.0.0.0`, as user-agent strings write versions), or
 * after the word `version`, `ver`, `release`, `build`, `firmware`, `kernel`, `package`, `patch`, `update`,
 * `revision`, `rev`, `section`, `chapter` or `§` (with optional `:`, `=`, `#` or spaces between), or part of
 * a longer dotted run (`1.2.3.4.5`). IPv6: hexadecimal groups with colons that Node's `net.isIPv6` accepts
 * (full, compressed `::`, IPv4-mapped `::ffff:192.0.2.1`), with at least three groups (an IPv4 tail counts
 * as two) and a digit (so `10:30:00` is a time and `a::b` a scope).
 */
import { isIPv6 } from 'node:net';
import { type Detector, eachMatch, trailingToken } from '../detector.js';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g');
const VERSION_BEFORE =
  /(?:(?:\b(?:version|ver|release|build|firmware|kernel|package|patch|update|revision|rev|section|chapter)\b|§)[\s:=#]{0,3}|(?<![A-Za-z])[vV]|[A-Za-z][\w.-]*\/)$/i;
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})(?![\w:])/g;

export function ipDetector(): Detector {
  return {
    entity: 'ip_address',
    find(text, out) {
      if (text.includes('.') && /\d\.\d/.test(text)) {
        eachMatch(IPV4, text, (m) => {
          if (VERSION_BEFORE.test(text.slice(Math.max(0, m.index - 24), m.index))) return;
          out.push({ start: m.index, end: m.index + m[0].length, entity: 'ip_address' });
        });
      }
      if (text.includes(':') && /::|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:/.test(text)) {
        eachMatch(IPV6, text, (m) => {
          const candidate = m[0];
          // At least three groups and a digit: `a::b`, `dead::beef` and C++'s `std::map` are not addresses.
          // An IPv4 tail is 32 bits, two groups (`::ffff:192.0.2.1`).
          const groups = candidate.split(':').filter((g) => g.length > 0);
          const count = groups.length + (groups.at(-1)?.includes('.') ? 1 : 0);
          if (!/\d/.test(candidate) || count < 3) return;
          if (/^\d{1,2}:\d{2}(?::\d{2})?$/.test(candidate)) return;
          if (isIPv6(candidate))
            out.push({ start: m.index, end: m.index + candidate.length, entity: 'ip_address' });
        });
      }
    },
    hold: (text) => trailingToken(text, 45),
  };
}
