/**
 * Names of every Redis key the gateway writes, and their hash tags (decision 0099).
 *
 * Layout: `<prefix><feature>:{<tag>}:<rest>`. Redis Cluster places a key by the text between its first
 * `{` and the next `}` (the hash tag), so every key with the same tag lives in the same slot and one Lua
 * script or multi-key command may touch them together. The rule: **a script touches the keys of one tag
 * only**, and the tag is the widest owner the script needs atomically:
 *
 * | tag | owner | keys |
 * |---|---|---|
 * | `{<user>}` | an end user (bare id, the layout before 0099, kept so upgrades lose no budget spend) | rate-limit buckets, user and key budget counters |
 * | `{o:<org>}` | an organization: every level below it (team, key, end user) in one slot | multi-level admission (tenancy) |
 * | `{<model>:<partition>}` | a semantic-cache partition | its record list and sequence number |
 * | `{daily}` | the fleet's daily cost | the day's total and its alert flag |
 * | none | single-key values | exact-cache entries (spread over every slot) |
 *
 * Typed tags (`o:`) may share a slot with a user whose id happens to read `o:…` (user ids may contain `:`);
 * that is harmless because a key built here under a typed tag always carries its level segment right after
 * the tag (`:org:`, `:team:<id>:`, `:key:<id>:`, `:user:<id>:`), which a user's own keys never do.
 *
 * The key prefix holds no braces (the config schema refuses them), and ids are escaped (`{`, `}`, `%`) so
 * no id can end or move a tag.
 *
 * @example
 * rateLimitKey('llmgw:', 'alice', 'r')  // 'llmgw:rl:{alice}:r'
 * orgTag('acme')                       // '{o:acme}'
 */

/** An id made safe inside a hash tag: `%`, `{` and `}` percent-encoded (injective; ordinary ids unchanged). */
export function tagId(id: string): string {
  return /[%{}]/.test(id)
    ? id.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    : id;
}

/** The tag of an end user's keys (bare id: the pre-0099 layout, unchanged). */
export function userTag(userId: string): string {
  return `{${tagId(userId)}}`;
}

/** The tag of everything an organization's admission touches: its own counters and those of every level below. */
export function orgTag(orgId: string): string {
  return `{o:${tagId(orgId)}}`;
}

/** The tag an admission script of this principal uses: its organization's when it has one, else its user's. */
export function admissionTag(principal: { userId: string; orgId?: string | null | undefined }): string {
  return principal.orgId ? orgTag(principal.orgId) : userTag(principal.userId);
}

/** A rate-limit bucket of an end user: `r` requests, `t` LLM tokens. */
export function rateLimitKey(prefix: string, userId: string, bucket: string): string {
  return `${prefix}rl:${userTag(userId)}:${bucket}`;
}

/** Base of an end user's budget counters (`…:user:d:<day>`, `…:key:<keyId>:m:<month>` follow). */
export function budgetBase(prefix: string, userId: string): string {
  return `${prefix}budget:${userTag(userId)}`;
}

/** The fleet's cost total of a UTC day (one key; its alert flag is `…:alerted`). */
export function dailyCostKey(prefix: string, day: string): string {
  return `${prefix}cost:{daily}:${day}`;
}

/** An exact-cache entry (`key` is `<model>:<sha256>`): no tag, entries spread over the cluster. */
export function cacheEntryKey(prefix: string, key: string): string {
  return `${prefix}cache:x:${key}`;
}

/** The two keys of a semantic partition (sequence number, record list), one tag. */
export function semanticKeys(prefix: string, model: string, partition: string): [seq: string, list: string] {
  const base = `${prefix}cache:s:{${encodeURIComponent(model)}:${tagId(partition)}}`;
  return [`${base}:seq`, `${base}:list`];
}

let crcTable: Uint16Array | null = null;

function crc16(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint16Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i << 8;
      for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
      crcTable[i] = c;
    }
  }
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ (crcTable[((crc >> 8) ^ b) & 0xff] as number);
  return crc;
}

/** The Redis Cluster slot of a key (CRC16 of its hash tag, or of the whole key without one), 0–16383. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}
