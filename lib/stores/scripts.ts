import { createHash } from 'node:crypto';

/**
 * The Lua run by `RedisSessionStore`: every read-then-write is one script,
 * one round trip, atomic. Keys of one user share a hash tag, so a Redis
 * Cluster runs each script on one node.
 *
 * Session hash fields: u user id, j current jti, p previous jti, r when the
 * current jti was issued (= when the previous was rotated out), l last used,
 * c created, e current refresh expiry, x absolute expiry, k claims (JSON,
 * absent when empty), i IP, a user agent. Times are Unix seconds.
 * The user index is a sorted set of session ids scored by refresh expiry.
 */

/** Keeps the index alive as long as its longest-lived session. */
const touchIndex = `
local function touch_index(idx, now)
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('EXPIRE', idx, math.max(1, tonumber(top[2]) - now)) end
end
local function drop(key, idx, sid)
  redis.call('DEL', key)
  redis.call('ZREM', idx, sid)
end
`;

/** KEYS: session, index. ARGV: sid, now, jti, userId, createdAt, refreshExp, expiresAt, claims, ip, ua. */
const create = `${touchIndex}
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local fields = { 'u', ARGV[4], 'j', ARGV[3], 'r', ARGV[2], 'l', ARGV[2], 'c', ARGV[5], 'e', ARGV[6], 'x', ARGV[7] }
local optional = { k = ARGV[8], i = ARGV[9], a = ARGV[10] }
for name, value in pairs(optional) do
  if value ~= '' then fields[#fields + 1] = name; fields[#fields + 1] = value end
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]) - now)
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
touch_index(KEYS[2], now)
return 1
`;

/**
 * KEYS: session, index. ARGV: presented jti, next jti, now, ttl, grace, sid.
 * Returns {status, jti, issuedAt, expiresAt, claims} or {status}.
 */
const rotate = `${touchIndex}
local now = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'j', 'p', 'r', 'e', 'x', 'k')
if not s[1] then
  redis.call('ZREM', KEYS[2], ARGV[6])
  return { 'unknown' }
end
local x = tonumber(s[5])
if tonumber(s[4]) <= now or x <= now then
  drop(KEYS[1], KEYS[2], ARGV[6])
  return { 'unknown' }
end
local claims = s[6] or '{}'
if s[1] == ARGV[1] then
  local e = math.min(now + tonumber(ARGV[4]), x)
  redis.call('HSET', KEYS[1], 'j', ARGV[2], 'p', ARGV[1], 'r', ARGV[3], 'l', ARGV[3], 'e', e)
  redis.call('EXPIRE', KEYS[1], e - now)
  redis.call('ZADD', KEYS[2], e, ARGV[6])
  touch_index(KEYS[2], now)
  return { 'rotated', ARGV[2], ARGV[3], tostring(e), claims }
end
local grace = tonumber(ARGV[5])
if s[2] == ARGV[1] and grace > 0 and now - tonumber(s[3]) <= grace then
  redis.call('HSET', KEYS[1], 'l', ARGV[3])
  return { 'grace', s[1], s[3], s[4], claims }
end
drop(KEYS[1], KEYS[2], ARGV[6])
return { 'reused' }
`;

/** KEYS: session, index. ARGV: sid. Returns 1 if the session existed. */
const revoke = `
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n
`;

/**
 * KEYS: index. ARGV: the user's session key prefix. Returns how many sessions
 * existed. The session keys share the index's hash tag (same cluster slot).
 */
const revokeAll = `
local n = 0
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  n = n + redis.call('DEL', ARGV[1] .. sid)
end
redis.call('DEL', KEYS[1])
return n
`;

export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

export const scripts = {
  create: script(create),
  rotate: script(rotate),
  revoke: script(revoke),
  revokeAll: script(revokeAll),
} as const;
