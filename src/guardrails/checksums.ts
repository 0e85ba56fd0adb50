/**
 * Check-digit algorithms used by the detectors: a candidate whose checksum fails is not reported (that is
 * what keeps order numbers and random digit runs from being taken for card numbers or IBANs).
 */

/** Luhn (mod 10) over a string of digits: credit cards, Canadian SINs. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616 / ISO 7064 mod-97-10 over an IBAN without spaces (upper case). */
export function ibanValid(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rest = (rest * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rest = (rest * 100 + (c - 55)) % 97;
    else return false;
  }
  return rest === 1;
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter): the letter is the number mod 23. */
export function spanishIdValid(id: string): boolean {
  let digits = id.slice(0, -1);
  const first = digits.charAt(0);
  if (first === 'X' || first === 'Y' || first === 'Z')
    digits = String('XYZ'.indexOf(first)) + digits.slice(1);
  if (!/^\d{8}$/.test(digits)) return false;
  return DNI_LETTERS.charAt(Number(digits) % 23) === id.charAt(id.length - 1);
}

// Italian codice fiscale: odd positions (1st, 3rd, …) map through this table, even positions take their value.
const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

/** Italian codice fiscale (16 characters, upper case): the 16th character checks the first 15. */
export function italianFiscalCodeValid(code: string): boolean {
  if (code.length !== 16) return false;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = code.charCodeAt(i);
    const value = c >= 48 && c <= 57 ? c - 48 : c - 65;
    if (value < 0 || value > 25) return false;
    sum += i % 2 === 0 ? (CF_ODD[value] as number) : value;
  }
  return String.fromCharCode(65 + (sum % 26)) === code.charAt(15);
}

/**
 * US Social Security number validity (SSA rules since 2011): area not 000, 666 or 9xx; group not 00; serial
 * not 0000; and not one of the numbers known to be published as examples.
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area.charAt(0) === '9') return false;
  if (group === '00' || serial === '0000') return false;
  const whole = area + group + serial;
  return whole !== '078051120' && whole !== '219099999' && whole !== '123456789';
}

/** Shannon entropy of a string, in bits per character. */
export function shannonEntropy(text: string): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
