import { createHash } from 'node:crypto';

/**
 * The Lua run by `RedisSessionStore`: every read-then-write is one script,
 * one round trip, atomic.
 *
 * Layout: one string key per user, `<prefix>{<userId>}`, holding a
 * MessagePack map from session id to an array:
 *   1 current jti, 2 previous jti ('' before the first rotation),
 *   3 when the current jti was issued (= when the previous was rotated out),
 *   4 last used, 5 created, 6 current refresh expiry, 7 absolute expiry,
 *   8 IP, 9 user agent, 10 claims as JSON ('' when none),
 *   11 start of the refresh-counting window, 12 refreshes in it.
 * Times are Unix seconds. The map is the per-user index (logout-all is one
 * DEL); the key expires with its longest-lived session, and expired sessions
 * are dropped whenever the key is written. One key per user keeps memory low
 * (a hash per session would fall out of Redis's compact encoding as soon as
 * a user agent passes 64 bytes) and needs one slot in a Redis Cluster.
 *
 * Revocations: every script that ends a session appends to one stream,
 * `<prefix>revocations`, in the same atomic step: fields `k` ('s' for a
 * session, 'u' for a user-wide cut-off), `id`, `at` (the time). Entries older
 * than ARGV[2] seconds (the longest an access token can outlive its session)
 * are trimmed as new ones are added (XADD MINID, Redis 6.2+).
 *
 * Every script takes KEYS[1] (the user key), KEYS[2] (the stream; absent
 * when the store keeps no revocation record, for a Redis Cluster), ARGV[1]
 * the time (Unix seconds from the caller, or '' for Redis's own clock, TIME,
 * so that app instances whose clocks disagree still decide alike) and
 * ARGV[2] the revocation ttl.
 */
const prelude = `
local function clock(given)
  if given ~= '' then return tonumber(given) end
  return tonumber(redis.call('TIME')[1])
end
local function load(key, now)
  local sessions, count = {}, 0
  local raw = redis.call('GET', key)
  if raw then
    for sid, s in pairs(cmsgpack.unpack(raw)) do
      if s[6] > now and s[7] > now then
        sessions[sid] = s
        count = count + 1
      end
    end
  end
  return sessions, count
end
local function save(key, sessions, now)
  local last = 0
  for _, s in pairs(sessions) do
    if s[6] > last then last = s[6] end
  end
  if last <= now then
    redis.call('DEL', key)
  else
    redis.call('SET', key, cmsgpack.pack(sessions), 'EX', last - now)
  end
end
local function inGrace(s, jti, grace, now)
  local age = now - s[3]
  return s[2] == jti and jti ~= '' and grace > 0 and age >= 0 and age <= grace
end
local function publish(kind, id, now)
  if not KEYS[2] then return end
  local floor = (tonumber(redis.call('TIME')[1]) - tonumber(ARGV[2])) * 1000
  redis.call('XADD', KEYS[2], 'MINID', '~', string.format('%d', floor), '*', 'k', kind, 'id', id, 'at', tostring(now))
end
`;

/**
 * ARGV: now, revocation ttl, sid, jti, ttl, maxLifetime, claims, ip, ua, max
 * sessions. Ends the least recently used sessions beyond the limit. Returns
 * {issuedAt, refreshExpiresAt} of the first refresh token.
 */
const create = `${prelude}
local now = clock(ARGV[1])
local sessions, count = load(KEYS[1], now)
while count >= tonumber(ARGV[10]) do
  local oldest, used
  for sid, s in pairs(sessions) do
    if not used or s[4] < used or (s[4] == used and sid < oldest) then oldest, used = sid, s[4] end
  end
  sessions[oldest] = nil
  count = count - 1
  publish('s', oldest, now)
end
local ends = now + tonumber(ARGV[6])
local expires = math.min(now + tonumber(ARGV[5]), ends)
sessions[ARGV[3]] = { ARGV[4], '', now, now, now, expires, ends, ARGV[8], ARGV[9], ARGV[7], now, 0 }
save(KEYS[1], sessions, now)
return { now, expires }
`;

/**
 * ARGV: now, revocation ttl, sid, presented jti, next jti, ttl, grace, ip, ua,
 * '1' to replace the claims with ARGV[11] (else '0'), claims, window.
 * Returns {status, jti, issuedAt, expiresAt, claims, previous ip, previous ua,
 * refreshes in the window} or {status}.
 */
const rotate = `${prelude}
local now = clock(ARGV[1])
local sessions = load(KEYS[1], now)
local s = sessions[ARGV[3]]
if not s then return { 'unknown' } end
local status
if s[1] == ARGV[4] then
  status = 'rotated'
  s[2], s[1], s[3] = s[1], ARGV[5], now
  s[6] = math.min(now + tonumber(ARGV[6]), s[7])
elseif inGrace(s, ARGV[4], tonumber(ARGV[7]), now) then
  status = 'grace'
else
  sessions[ARGV[3]] = nil
  save(KEYS[1], sessions, now)
  publish('s', ARGV[3], now)
  return { 'reused' }
end
local ip, ua = s[8], s[9]
if ARGV[8] ~= '' then s[8] = ARGV[8] end
if ARGV[9] ~= '' then s[9] = ARGV[9] end
if ARGV[10] == '1' then s[10] = ARGV[11] end
local window = tonumber(ARGV[12])
if not s[11] or now - s[11] >= window or now < s[11] then s[11], s[12] = now, 0 end
s[12] = s[12] + 1
s[4] = now
save(KEYS[1], sessions, now)
return { status, s[1], tostring(s[3]), tostring(s[6]), s[10], ip, ua, s[12] }
`;

/**
 * ARGV: now, revocation ttl, sid, presented jti ('' for none), grace.
 * Ends the session; returns 'revoked', 'reused' (the presented jti had been
 * rotated out) or 'unknown'.
 */
const revoke = `${prelude}
local now = clock(ARGV[1])
local sessions = load(KEYS[1], now)
local s = sessions[ARGV[3]]
if not s then return 'unknown' end
sessions[ARGV[3]] = nil
save(KEYS[1], sessions, now)
publish('s', ARGV[3], now)
if ARGV[4] == '' or s[1] == ARGV[4] or inGrace(s, ARGV[4], tonumber(ARGV[5]), now) then return 'revoked' end
return 'reused'
`;

/**
 * ARGV: now, revocation ttl, user id, session to keep ('' for none). Ends
 * every other live session; without one to keep, also records a user-wide
 * cut-off. Returns how many live sessions ended.
 */
const revokeAll = `${prelude}
local now = clock(ARGV[1])
local sessions, count = load(KEYS[1], now)
local kept = sessions[ARGV[4]]
for sid in pairs(sessions) do
  if sid ~= ARGV[4] then publish('s', sid, now) end
end
if ARGV[4] == '' then publish('u', ARGV[3], now) end
if kept then
  save(KEYS[1], { [ARGV[4]] = kept }, now)
  return count - 1
end
redis.call('DEL', KEYS[1])
return count
`;

/**
 * ARGV: now. Returns the live sessions as {sid, created, last used, expires,
 * ip, ua} arrays. Read-only.
 */
const list = `${prelude}
local now = clock(ARGV[1])
local sessions = load(KEYS[1], now)
local out = {}
for sid, s in pairs(sessions) do
  out[#out + 1] = { sid, s[5], s[4], s[6], s[8], s[9] }
end
return out
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
  list: script(list),
} as const;
