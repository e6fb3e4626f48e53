import { createHash } from 'node:crypto';
import { luaArgs, luaPrelude, luaStepArgs } from './fields.js';

/**
 * The Lua run by `RedisSessionStore`: every read-then-write is one script,
 * one round trip, one Cluster slot, atomic. (README: "What Redis holds".)
 *
 * Layout (layout.ts): one key per user, `<prefix>{<userId>}` (its Cluster
 * hash tag), or on a Cluster with the record `<prefix>{<shard tag>}u:<userId>`. One
 * session: a string, the MessagePack array {session id, session}. More: a
 * hash, one field per session id, so a refresh reads and writes its own
 * session only (a login reads them all, to drop the expired and end the
 * least recently used beyond the limit). A session is a MessagePack array
 * whose fields fields.ts names (`sessionFields`): each script opens with
 * `local JTI, PREVIOUS, ISSUED, ... = 1, 2, 3, ...` and reads `s[EXPIRES]`:
 *   1 JTI current jti, 2 PREVIOUS previous jti ('' before the first rotation),
 *   3 ISSUED when the current jti was issued (= when the previous was rotated out),
 *   4 USED last used, 5 CREATED, 6 EXPIRES current refresh expiry, 7 ENDS absolute expiry,
 *   8 IP, 9 UA user agent, 10 CLAIMS as JSON ('' when none),
 *   11 WINDOW_START start of the refresh-counting window, 12 REFRESHES in it,
 *   13 LATEST the latest issue time handed out, only while later than 3 (the clock
 *      stepped back): only a later token is a successor the store lost,
 *   14 JKT the DPoP key thumbprint the session is bound to, only when bound.
 * Times are Unix seconds. The key expires with its longest-lived session
 * (a hash's expiry only grows; expired fields go at the next login).
 *
 * The `#!lua` shebang (Redis 7.0+) has Redis refuse a script where it could
 * not write: on a replica (READONLY, even one still syncing, which would
 * answer "no such session"), while loading, and out of memory (OOM), except
 * for the scripts that only end sessions (`allow-oom`: logout frees memory).
 *
 * A script that ends sessions appends to the stream `<prefix>revocations`
 * (on a Cluster: its shard's, `<prefix>{<shard tag>}revocations`, in the user key's slot)
 * (`k` 's' session or 'u' user-wide cut-off, `id`, `at`; XADD MINID trims
 * what is older than `revocationTtl` s) before it deletes: Redis does not roll a
 * failed script back, so a stream it cannot append to (another type) fails
 * it with no session ended. One that ends nothing appends nothing.
 *
 * `<prefix>{<userId>}:cutoff` (sharded: `<prefix>{<shard tag>}c:<userId>`;
 * the same hash tag as the user key either way), the credential cut-off: Unix
 * ms of the user's latest revokeAll, kept or not, ended any or not. A create
 * whose credential check began at or before it is refused ('changed').
 *
 * `<prefix>{<userId>}:dpop` (sharded: `<prefix>{<shard tag>}p:<userId>`),
 * the DPoP proofs the user's logins and refreshes used: a sorted set, jti ->
 * the Unix ms it is kept until (`proofReplayed`: trimmed, checked and added in
 * one step), expiring with its latest member.
 *
 * Every script takes KEYS[1] (the user key), KEYS[2] (the cut-off), KEYS[3]
 * (the DPoP proofs), KEYS[4] (the stream; absent without a revocation record), and
 * ARGV by name (fields.ts: `commonArgs`, then `scriptArgs`, declared as Lua
 * locals at the top of each script): `callerMs` the time in Unix ms (the
 * caller's, or '' for Redis's own TIME, so that instances whose clocks
 * disagree decide alike), `revocationTtl`, `deadline`: Unix ms on Redis's
 * clock after which the script changes nothing and answers 'late' ('' for
 * none), so that a command the store gave up on (503) and Redis runs later
 * never rotates a token the client did not receive.
 */
const prelude = `
${luaPrelude}
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if deadline ~= '' and nowMs > tonumber(deadline) then return 'late' end
if callerMs ~= '' then nowMs = tonumber(callerMs) end
local now = math.floor(nowMs / 1000)
local function live(s)
  return s[EXPIRES] > now and s[ENDS] > now
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
    if redis.call('TTL', KEYS[1]) < s[EXPIRES] - now then redis.call('EXPIRE', KEYS[1], s[EXPIRES] - now) end
  else
    one = { sid, s }
    redis.call('SET', KEYS[1], cmsgpack.pack(one), 'EX', s[EXPIRES] - now)
    kind = 'string'
  end
end
local function lostSuccessor(s, issued)
  return issued ~= '' and tonumber(issued) > (s[LATEST] or s[ISSUED])
end
local function rotateTo(s, presented, jti, ttl, issued)
  local latest = s[LATEST] or s[ISSUED]
  if issued ~= '' and tonumber(issued) > latest then latest = tonumber(issued) end
  s[PREVIOUS], s[JTI], s[ISSUED] = presented, jti, now
  s[EXPIRES] = math.min(now + ttl, s[ENDS])
  if latest > now then s[LATEST] = latest else s[LATEST] = nil end
end
local function inGrace(s, jti, grace)
  local age = now - s[ISSUED]
  return s[PREVIOUS] == jti and jti ~= '' and grace > 0 and age >= 0 and age <= grace
end
local function publish(what, id)
  if not KEYS[4] then return end
  local floor = (tonumber(t[1]) - tonumber(revocationTtl)) * 1000
  redis.call('XADD', KEYS[4], 'MINID', '~', string.format('%d', floor), '*', 'k', what, 'id', id, 'at', tostring(now))
end
local function proofReplayed(jti, ttl)
  local keep = tonumber(ttl) * 1000
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', nowMs))
  if redis.call('ZSCORE', KEYS[3], jti) then return true end
  redis.call('ZADD', KEYS[3], string.format('%d', nowMs + keep), jti)
  if redis.call('PTTL', KEYS[3]) < keep then redis.call('PEXPIRE', KEYS[3], keep) end
  return false
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
 * ARGV (after the common three): sid, jti, ttl, maxLifetime, claims, ip, ua,
 * maxSessions, checkAge: the credential check's age in ms ('' for none),
 * checkBegan: the store's estimate of its start on Redis's clock ('' for
 * none; taken when earlier: a queued script runs late). 'changed', changing
 * nothing, if that is at or before the cut-off; else ends the least recently
 * used sessions beyond the limit, returns {issuedAt, refreshExpiresAt} of the
 * first token. jkt: the DPoP key the session is bound to ('' for none);
 * proofJti, proofTtl: the login's DPoP proof ('' for none): 'replayed',
 * changing nothing, if the user used that jti before.
 */
const create = `#!lua
${prelude}
${luaArgs('create')}
if checkAge ~= '' then
  local began = nowMs - tonumber(checkAge)
  if checkBegan ~= '' then began = math.min(began, tonumber(checkBegan)) end
  local cut = redis.call('GET', KEYS[2])
  if cut and tonumber(cut) >= began then return 'changed' end
end
if proofJti ~= '' and proofReplayed(proofJti, proofTtl) then return 'replayed' end
local sessions, count = all()
while count >= tonumber(maxSessions) do
  local oldest, used
  for id, s in pairs(sessions) do
    if not used or s[USED] < used or (s[USED] == used and id < oldest) then oldest, used = id, s[USED] end
  end
  sessions[oldest] = nil
  count = count - 1
  publish('s', oldest)
  drop(oldest)
end
local ends = now + tonumber(maxLifetime)
local expires = math.min(now + tonumber(ttl), ends)
local s = {
  [JTI] = jti, [PREVIOUS] = '', [ISSUED] = now, [USED] = now, [CREATED] = now, [EXPIRES] = expires, [ENDS] = ends,
  [IP] = ip, [UA] = ua, [CLAIMS] = claims, [WINDOW_START] = now, [REFRESHES] = 0,
}
if jkt ~= '' then s[JKT] = jkt end
write(sid, s)
return { now, expires }
`;

/**
 * ARGV (after the common three): sid, presented jti, nextJti, ttl, grace, ip,
 * ua, replaceClaims: '1' to replace the claims with `claims` (else '0'),
 * claims, window, presentedIat: the presented token's iat ('' for none; one
 * later than LATEST or ISSUED is a successor the store lost, taken as
 * current), proofJkt, proofJti, proofTtl: the refresh's DPoP proof ('' for
 * none). A bound session (JKT) without that key's proof answers
 * {'key_mismatch'}, a jti the user used before {'proof_replayed'}: both
 * before the reuse check, changing nothing. Returns {status, jti, issuedAt,
 * expiresAt, claims, previous ip, previous ua, refreshes in the window, jkt}
 * or {status}.
 */
const rotate = `#!lua
${prelude}
${luaArgs('rotate')}
local s = read(sid)
if not s then return { 'unknown' } end
local bound = s[JKT] or ''
if bound ~= '' and bound ~= proofJkt then return { 'key_mismatch' } end
if proofJti ~= '' and proofReplayed(proofJti, proofTtl) then return { 'proof_replayed' } end
local status
if s[JTI] == presented or lostSuccessor(s, presentedIat) then
  status = 'rotated'
  rotateTo(s, presented, nextJti, tonumber(ttl), presentedIat)
elseif inGrace(s, presented, tonumber(grace)) then
  status = 'grace'
else
  publish('s', sid)
  drop(sid)
  return { 'reused' }
end
local oldIp, oldUa = s[IP], s[UA]
if ip ~= '' then s[IP] = ip end
if ua ~= '' then s[UA] = ua end
if replaceClaims == '1' then s[CLAIMS] = claims end
local started = s[WINDOW_START]
if not started or now - started >= tonumber(window) or now < started then s[WINDOW_START], s[REFRESHES] = now, 0 end
s[REFRESHES] = s[REFRESHES] + 1
s[USED] = now
write(sid, s)
return { status, s[JTI], tostring(s[ISSUED]), tostring(s[EXPIRES]), s[CLAIMS], oldIp, oldUa, s[REFRESHES], bound }
`;

/**
 * ARGV (after the common three): sid, presented jti ('' for none), grace,
 * presentedIat ('' for none). Ends the session; returns 'revoked', 'reused'
 * (the presented jti had been rotated out) or 'unknown'.
 */
const revoke = `#!lua flags=allow-oom
${prelude}
${luaArgs('revoke')}
local s = read(sid)
if not s then return 'unknown' end
publish('s', sid)
drop(sid)
if presented == '' or s[JTI] == presented or inGrace(s, presented, tonumber(grace)) or lostSuccessor(s, presentedIat) then
  return 'revoked'
end
return 'reused'
`;

/**
 * ARGV (after the common three): userId, keep: the session to keep ('' for
 * none), cutoffTtl: seconds to keep the credential cut-off. Ends every other
 * live session; with none to keep, records a user-wide cut-off if any ended.
 * Moves the credential cut-off forward, never back. Returns how many ended.
 */
const revokeAll = `#!lua flags=allow-oom
${prelude}
${luaArgs('revokeAll')}
local cut = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), nowMs)
local sessions, count = all()
local kept = sessions[keep]
if kept then count = count - 1 end
for sid in pairs(sessions) do
  if sid ~= keep then publish('s', sid) end
end
if keep == '' and count > 0 then publish('u', userId) end
redis.call('SET', KEYS[2], string.format('%d', cut), 'EX', tonumber(cutoffTtl))
redis.call('DEL', KEYS[1])
kind = 'none'
if kept then write(keep, kept) end
return count
`;

/**
 * ARGV: the common three only (revocationTtl unused). Returns the live sessions as
 * {sid, created, last used, expires, ip, ua} arrays. Changes nothing but
 * dropping expired fields; runs on the primary, so a replica's stale or
 * empty copy never answers.
 */
const list = `#!lua flags=allow-oom
${prelude}
local out = {}
for sid, s in pairs((all())) do out[#out + 1] = { sid, s[CREATED], s[USED], s[EXPIRES], s[IP], s[UA] } end
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

/**
 * The revocation feed's step on a Cluster, KEYS[1] one shard's stream,
 * ARGV by name (fields.ts: `stepArgs`): `after`, `count`. Read-only
 * (`no-writes`), one atomic call: what the feed's MULTI reads on one Redis
 * (redis-feed.ts), so that its proof (redis-stream-proof.ts) decides gaps
 * alike. Returns {1, XINFO STREAM, {KEYS[1], entries after `after`, at most
 * `count`}, TIME}, or {0, {}, {KEYS[1], {}}, TIME} when there is no such stream.
 * A key of another type fails it (WRONGTYPE).
 */
const step = `#!lua flags=no-writes
${luaStepArgs}
local t = redis.call('TIME')
if redis.call('EXISTS', KEYS[1]) == 0 then return { 0, {}, { KEYS[1], {} }, t } end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local entries = redis.call('XRANGE', KEYS[1], '(' .. after, '+', 'COUNT', tonumber(count))
return { 1, info, { KEYS[1], entries }, t }
`;

export interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });

export const scripts = {
  create: script(create),
  rotate: script(rotate),
  revoke: script(revoke),
  revokeAll: script(revokeAll),
  list: script(list),
  probe: script(probe),
  step: script(step),
} as const;
