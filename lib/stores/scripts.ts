import { createHash } from 'node:crypto';

/**
 * The Lua run by `RedisSessionStore`: every read-then-write is one script,
 * one round trip, one Cluster slot, atomic. (README: "What Redis holds".)
 *
 * Layout: one key per user, `<prefix>{<userId>}` (its Cluster hash tag). One
 * session: a string, the MessagePack array {session id, session}. More: a
 * hash, one field per session id, so a refresh reads and writes its own
 * session only (a login reads them all, to drop the expired and end the
 * least recently used beyond the limit). A session is a MessagePack array:
 *   1 current jti, 2 previous jti ('' before the first rotation),
 *   3 when the current jti was issued (= when the previous was rotated out),
 *   4 last used, 5 created, 6 current refresh expiry, 7 absolute expiry,
 *   8 IP, 9 user agent, 10 claims as JSON ('' when none),
 *   11 start of the refresh-counting window, 12 refreshes in it,
 *   13 the latest issue time handed out, only while later than 3 (the clock
 *      stepped back): only a later token is a successor the store lost.
 * Times are Unix seconds. The key expires with its longest-lived session
 * (a hash's expiry only grows; expired fields go at the next login).
 *
 * The `#!lua` shebang (Redis 7.0+) has Redis refuse a script where it could
 * not write: on a replica (READONLY, even one still syncing, which would
 * answer "no such session"), while loading, and out of memory (OOM), except
 * for the scripts that only end sessions (`allow-oom`: logout frees memory).
 *
 * A script that ends sessions appends to the stream `<prefix>revocations`
 * (`k` 's' session or 'u' user-wide cut-off, `id`, `at`; XADD MINID trims
 * what is older than ARGV[2] s) before it deletes: Redis does not roll a
 * failed script back, so a stream it cannot append to (another type) fails
 * it with no session ended. One that ends nothing appends nothing.
 *
 * `<prefix>{<userId>}:cutoff` (same hash tag), the credential cut-off: Unix
 * ms of the user's latest revokeAll, kept or not, ended any or not. A create
 * whose credential check began at or before it is refused ('changed').
 *
 * Every script takes KEYS[1] (the user key), KEYS[2] (the cut-off), KEYS[3]
 * (the stream; absent without a revocation record, as on a Cluster), ARGV[1]
 * the time in Unix ms (the caller's, or '' for Redis's own TIME, so that
 * instances whose clocks disagree decide alike), ARGV[2] the revocation ttl,
 * ARGV[3] the deadline: Unix ms on Redis's clock after which the script
 * changes nothing and answers 'late' ('' for none), so that a command the
 * store gave up on (503) and Redis runs later never rotates a token the
 * client did not receive.
 */
const prelude = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] ~= '' and nowMs > tonumber(ARGV[3]) then return 'late' end
if ARGV[1] ~= '' then nowMs = tonumber(ARGV[1]) end
local now = math.floor(nowMs / 1000)
local function live(s)
  return s[6] > now and s[7] > now
end
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'string' and kind ~= 'hash' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' holds a ' .. kind .. ', not sessions')
end
local one
if kind == 'string' then
  one = cmsgpack.unpack(redis.call('GET', KEYS[1]))
  if one[1] == nil then
    -- Written by 0.1: a map of every session of the user. It becomes the hash.
    local left = redis.call('TTL', KEYS[1])
    redis.call('DEL', KEYS[1])
    kind = 'none'
    for sid, s in pairs(one) do
      redis.call('HSET', KEYS[1], sid, cmsgpack.pack(s))
      kind = 'hash'
    end
    if kind == 'hash' and left > 0 then redis.call('EXPIRE', KEYS[1], left) end
  end
end
local function single()
  return one[1], one[2]
end
local function drop(sid)
  if kind == 'hash' then
    redis.call('HDEL', KEYS[1], sid)
  elseif kind == 'string' then
    redis.call('DEL', KEYS[1])
    kind = 'none'
  end
end
local function read(sid)
  local s
  if kind == 'hash' then
    local raw = redis.call('HGET', KEYS[1], sid)
    if raw then s = cmsgpack.unpack(raw) end
  elseif kind == 'string' then
    local id, one = single()
    if id == sid then s = one end
  end
  if not s then return nil end
  if live(s) then return s end
  drop(sid)
  return nil
end
local function write(sid, s)
  if kind == 'string' then
    local id, other = single()
    if id ~= sid then
      local left = redis.call('TTL', KEYS[1])
      redis.call('DEL', KEYS[1])
      redis.call('HSET', KEYS[1], id, cmsgpack.pack(other))
      redis.call('EXPIRE', KEYS[1], math.max(left, 1))
      kind = 'hash'
    end
  end
  if kind == 'hash' then
    redis.call('HSET', KEYS[1], sid, cmsgpack.pack(s))
    if redis.call('TTL', KEYS[1]) < s[6] - now then redis.call('EXPIRE', KEYS[1], s[6] - now) end
  else
    one = { sid, s }
    redis.call('SET', KEYS[1], cmsgpack.pack(one), 'EX', s[6] - now)
    kind = 'string'
  end
end
local function lostSuccessor(s, issued)
  return issued ~= '' and tonumber(issued) > (s[13] or s[3])
end
local function rotateTo(s, presented, jti, ttl, issued)
  local latest = s[13] or s[3]
  if issued ~= '' and tonumber(issued) > latest then latest = tonumber(issued) end
  s[2], s[1], s[3] = presented, jti, now
  s[6] = math.min(now + ttl, s[7])
  if latest > now then s[13] = latest else s[13] = nil end
end
local function inGrace(s, jti, grace)
  local age = now - s[3]
  return s[2] == jti and jti ~= '' and grace > 0 and age >= 0 and age <= grace
end
local function publish(what, id)
  if not KEYS[3] then return end
  local floor = (tonumber(t[1]) - tonumber(ARGV[2])) * 1000
  redis.call('XADD', KEYS[3], 'MINID', '~', string.format('%d', floor), '*', 'k', what, 'id', id, 'at', tostring(now))
end
local function all()
  local sessions, count = {}, 0
  if kind == 'string' then
    local id, s = single()
    if live(s) then return { [id] = s }, 1 end
    drop(id)
  elseif kind == 'hash' then
    local flat = redis.call('HGETALL', KEYS[1])
    for i = 1, #flat, 2 do
      local s = cmsgpack.unpack(flat[i + 1])
      if live(s) then
        sessions[flat[i]] = s
        count = count + 1
      else
        redis.call('HDEL', KEYS[1], flat[i])
      end
    end
  end
  return sessions, count
end
`;

/**
 * ARGV: now, revocation ttl, deadline, sid, jti, ttl, maxLifetime, claims,
 * ip, ua, max sessions, the credential check's age in ms ('' for none), the
 * store's estimate of its start on Redis's clock ('' for none; taken when
 * earlier: a queued script runs late). 'changed', changing nothing, if that
 * is at or before the cut-off; else ends the least recently used sessions
 * beyond the limit, returns {issuedAt, refreshExpiresAt} of the first token.
 */
const create = `#!lua
${prelude}
if ARGV[12] ~= '' then
  local began = nowMs - tonumber(ARGV[12])
  if ARGV[13] ~= '' then began = math.min(began, tonumber(ARGV[13])) end
  local cut = redis.call('GET', KEYS[2])
  if cut and tonumber(cut) >= began then return 'changed' end
end
local sessions, count = all()
while count >= tonumber(ARGV[11]) do
  local oldest, used
  for sid, s in pairs(sessions) do
    if not used or s[4] < used or (s[4] == used and sid < oldest) then oldest, used = sid, s[4] end
  end
  sessions[oldest] = nil
  count = count - 1
  publish('s', oldest)
  drop(oldest)
end
local ends = now + tonumber(ARGV[7])
local expires = math.min(now + tonumber(ARGV[6]), ends)
write(ARGV[4], { ARGV[5], '', now, now, now, expires, ends, ARGV[9], ARGV[10], ARGV[8], now, 0 })
return { now, expires }
`;

/**
 * ARGV: now, revocation ttl, deadline, sid, presented jti, next jti, ttl,
 * grace, ip, ua, '1' to replace the claims with ARGV[12] (else '0'), claims,
 * window, the presented token's iat ('' for none; one later than field 13
 * or 3 is a successor the store lost, taken as current). Returns {status,
 * jti, issuedAt, expiresAt, claims, previous ip, previous ua, refreshes in
 * the window} or {status}.
 */
const rotate = `#!lua
${prelude}
local s = read(ARGV[4])
if not s then return { 'unknown' } end
local status
if s[1] == ARGV[5] or lostSuccessor(s, ARGV[14]) then
  status = 'rotated'
  rotateTo(s, ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[14])
elseif inGrace(s, ARGV[5], tonumber(ARGV[8])) then
  status = 'grace'
else
  publish('s', ARGV[4])
  drop(ARGV[4])
  return { 'reused' }
end
local ip, ua = s[8], s[9]
if ARGV[9] ~= '' then s[8] = ARGV[9] end
if ARGV[10] ~= '' then s[9] = ARGV[10] end
if ARGV[11] == '1' then s[10] = ARGV[12] end
local window = tonumber(ARGV[13])
if not s[11] or now - s[11] >= window or now < s[11] then s[11], s[12] = now, 0 end
s[12] = s[12] + 1
s[4] = now
write(ARGV[4], s)
return { status, s[1], tostring(s[3]), tostring(s[6]), s[10], ip, ua, s[12] }
`;

/**
 * ARGV: now, revocation ttl, deadline, sid, presented jti ('' for none),
 * grace, the presented token's iat ('' for none). Ends the session; returns
 * 'revoked', 'reused' (the presented jti had been rotated out) or 'unknown'.
 */
const revoke = `#!lua flags=allow-oom
${prelude}
local s = read(ARGV[4])
if not s then return 'unknown' end
publish('s', ARGV[4])
drop(ARGV[4])
if ARGV[5] == '' or s[1] == ARGV[5] or inGrace(s, ARGV[5], tonumber(ARGV[6])) or lostSuccessor(s, ARGV[7]) then
  return 'revoked'
end
return 'reused'
`;

/**
 * ARGV: now, revocation ttl, deadline, user id, session to keep ('' for
 * none), seconds to keep the credential cut-off. Ends every other live
 * session; with none to keep, records a user-wide cut-off if any ended.
 * Moves the credential cut-off forward, never back. Returns how many ended.
 */
const revokeAll = `#!lua flags=allow-oom
${prelude}
local cut = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), nowMs)
local sessions, count = all()
local kept = sessions[ARGV[5]]
if kept then count = count - 1 end
for sid in pairs(sessions) do
  if sid ~= ARGV[5] then publish('s', sid) end
end
if ARGV[5] == '' and count > 0 then publish('u', ARGV[4]) end
redis.call('SET', KEYS[2], string.format('%d', cut), 'EX', tonumber(ARGV[6]))
redis.call('DEL', KEYS[1])
kind = 'none'
if kept then write(ARGV[5], kept) end
return count
`;

/**
 * ARGV: now, revocation ttl (unused), deadline. Returns the live sessions as
 * {sid, created, last used, expires, ip, ua} arrays. Changes nothing but
 * dropping expired fields; runs on the primary, so a replica's stale or
 * empty copy never answers.
 */
const list = `#!lua flags=allow-oom
${prelude}
local out = {}
for sid, s in pairs((all())) do out[#out + 1] = { sid, s[5], s[4], s[6], s[8], s[9] } end
return out
`;

/**
 * No keys but KEYS[1], a probe key of the store's own. Writes it (expiring
 * at once), so that it fails wherever a session script would: on a replica,
 * while loading, out of memory, in a Cluster slot without a primary.
 */
const probe = `#!lua
redis.call('SET', KEYS[1], '1', 'PX', '1')
return 'ok'
`;

export interface Script { source: string; sha: string }

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });

export const scripts = {
  create: script(create), rotate: script(rotate), revoke: script(revoke), revokeAll: script(revokeAll),
  list: script(list), probe: script(probe),
} as const;
