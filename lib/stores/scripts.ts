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
`;

/**
 * KEYS: user key. ARGV: sid, now, jti, createdAt, refreshExp, expiresAt,
 * claims, ip, ua, max sessions. Drops the least recently used sessions beyond
 * the limit. Returns how many sessions the user has now.
 */
const create = `${prelude}
local now = tonumber(ARGV[2])
local sessions, count = load(KEYS[1], now)
while count >= tonumber(ARGV[10]) do
  local oldest, used
  for sid, s in pairs(sessions) do
    if not used or s[4] < used or (s[4] == used and sid < oldest) then oldest, used = sid, s[4] end
  end
  sessions[oldest] = nil
  count = count - 1
end
sessions[ARGV[1]] = { ARGV[3], '', now, now, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[8], ARGV[9], ARGV[7] }
save(KEYS[1], sessions, now)
return count + 1
`;

/**
 * KEYS: user key. ARGV: sid, presented jti, next jti, now, ttl, grace.
 * Returns {status, jti, issuedAt, expiresAt, claims} or {status}.
 */
const rotate = `${prelude}
local now = tonumber(ARGV[4])
local sessions = load(KEYS[1], now)
local s = sessions[ARGV[1]]
if not s then return { 'unknown' } end
local status
if s[1] == ARGV[2] then
  status = 'rotated'
  s[2], s[1], s[3] = s[1], ARGV[3], now
  s[6] = math.min(now + tonumber(ARGV[5]), s[7])
elseif s[2] == ARGV[2] and tonumber(ARGV[6]) > 0 and now - s[3] <= tonumber(ARGV[6]) then
  status = 'grace'
else
  sessions[ARGV[1]] = nil
  save(KEYS[1], sessions, now)
  return { 'reused' }
end
s[4] = now
save(KEYS[1], sessions, now)
return { status, s[1], tostring(s[3]), tostring(s[6]), s[10] }
`;

/** KEYS: user key. ARGV: sid, now. Returns 1 if the session existed. */
const revoke = `${prelude}
local now = tonumber(ARGV[2])
local sessions = load(KEYS[1], now)
if not sessions[ARGV[1]] then return 0 end
sessions[ARGV[1]] = nil
save(KEYS[1], sessions, now)
return 1
`;

/** KEYS: user key. ARGV: now. Returns how many live sessions there were. */
const revokeAll = `${prelude}
local _, count = load(KEYS[1], tonumber(ARGV[1]))
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
