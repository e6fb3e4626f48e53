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
 *   8 IP, 9 user agent, 10 claims as JSON ('' when none).
 * Times are Unix seconds. The map is the per-user index (logout-all is one
 * DEL); the key expires with its longest-lived session, and expired sessions
 * are dropped whenever the key is written. One key per user keeps memory low
 * (a hash per session would fall out of Redis's compact encoding as soon as
 * a user agent passes 64 bytes) and needs one slot in a Redis Cluster.
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
`;

/*
 * Every script takes the time as ARGV[1]: Unix seconds from the caller, or
 * '' to read Redis's own clock (TIME), so that app instances whose clocks
 * disagree still make the same decisions.
 */

/**
 * KEYS: user key. ARGV: now, sid, jti, ttl, maxLifetime, claims, ip, ua,
 * max sessions. Drops the least recently used sessions beyond the limit.
 * Returns {issuedAt, refreshExpiresAt} of the first refresh token.
 */
const create = `${prelude}
local now = clock(ARGV[1])
local sessions, count = load(KEYS[1], now)
while count >= tonumber(ARGV[9]) do
  local oldest, used
  for sid, s in pairs(sessions) do
    if not used or s[4] < used or (s[4] == used and sid < oldest) then oldest, used = sid, s[4] end
  end
  sessions[oldest] = nil
  count = count - 1
end
local ends = now + tonumber(ARGV[5])
local expires = math.min(now + tonumber(ARGV[4]), ends)
sessions[ARGV[2]] = { ARGV[3], '', now, now, now, expires, ends, ARGV[7], ARGV[8], ARGV[6] }
save(KEYS[1], sessions, now)
return { now, expires }
`;

/**
 * KEYS: user key. ARGV: now, sid, presented jti, next jti, ttl, grace.
 * Returns {status, jti, issuedAt, expiresAt, claims} or {status}.
 */
const rotate = `${prelude}
local now = clock(ARGV[1])
local sessions = load(KEYS[1], now)
local s = sessions[ARGV[2]]
if not s then return { 'unknown' } end
local status
if s[1] == ARGV[3] then
  status = 'rotated'
  s[2], s[1], s[3] = s[1], ARGV[4], now
  s[6] = math.min(now + tonumber(ARGV[5]), s[7])
elseif inGrace(s, ARGV[3], tonumber(ARGV[6]), now) then
  status = 'grace'
else
  sessions[ARGV[2]] = nil
  save(KEYS[1], sessions, now)
  return { 'reused' }
end
s[4] = now
save(KEYS[1], sessions, now)
return { status, s[1], tostring(s[3]), tostring(s[6]), s[10] }
`;

/**
 * KEYS: user key. ARGV: now, sid, presented jti ('' for none), grace.
 * Deletes the session; returns 'revoked', 'reused' (the presented jti had
 * been rotated out) or 'unknown'.
 */
const revoke = `${prelude}
local now = clock(ARGV[1])
local sessions = load(KEYS[1], now)
local s = sessions[ARGV[2]]
if not s then return 'unknown' end
sessions[ARGV[2]] = nil
save(KEYS[1], sessions, now)
if ARGV[3] == '' or s[1] == ARGV[3] or inGrace(s, ARGV[3], tonumber(ARGV[4]), now) then return 'revoked' end
return 'reused'
`;

/** KEYS: user key. ARGV: now. Returns how many live sessions there were. */
const revokeAll = `${prelude}
local _, count = load(KEYS[1], clock(ARGV[1]))
redis.call('DEL', KEYS[1])
return count
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
