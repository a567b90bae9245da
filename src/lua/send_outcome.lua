-- send_outcome.lua: records what the relay said of one message
-- (sender.c, pipelined, one call per message).
--
-- KEYS (one hash tag {t:T}):
--   1 camp  2 done (bitmap)  3 retry (zset)  4 tries (hash)  5 bounces
--   6 tenant  7 contact hash ({t:T}:ct:ID)  8 msgs (message record)
--   9 events (the tenant's event log, {t:T}:events)
--   10 ab (an A/B test's contact → variant; optional)
-- ARGV: 1 contact id  2 outcome: s sent, b bounced, f failed, t try
--   again, r requeue (it never reached the relay, so it is not a try)
--   3 email key  4 now (ms)  5 retry lifetime (ms)
--   6 the event's id ("" for t, r, f: they make none)  7 its partial
--   JSON (event.c's event_json, no "id", no "email")  8 campaign id
--   9.. the retry schedule, seconds
-- Returns 0 when the recipient was final already, 2 when a retry is
-- scheduled, 1 when the outcome is final, -1 when the campaign or its
-- tenant is gone (purged or deleted while the message was out).
--
-- Guarantees: once final (done bit), a recipient's counters never
-- change again: a repeated outcome returns 0.  A retry is scheduled
-- only within the schedule and the lifetime; past them it fails (a
-- system campaign's lifetime counts from each mail's first try).
-- Nothing is written for a campaign or tenant that no longer exists
-- (a purge removes the tenant record first), so a late outcome never
-- recreates a purged tenant's keys.  Per-person data (the message
-- record, the bounce entry with the address) only while the contact
-- exists: an erased contact's late outcome counts in the campaign's
-- counters and done bitmap only.  The sent or bounced event goes into
-- the event log with the outcome, once (the done bit), while the
-- contact exists, with its address now and a stable id.

local id, o, now = ARGV[1], ARGV[2], tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[1]) == 0 or
    redis.call('EXISTS', KEYS[6]) == 0 then return -1 end
if redis.call('GETBIT', KEYS[2], id) == 1 then return 0 end
local person = redis.call('EXISTS', KEYS[7]) == 1
if o == 't' or o == 'r' then
  local n = 1
  if o == 't' then n = redis.call('HINCRBY', KEYS[4], id, 1) end
  local at = tonumber(redis.call('HGET', KEYS[1], 'launched_at') or now)
  if redis.call('HGET', KEYS[1], 'snapshot') == 'system' then
    -- A system campaign (a form's confirmations, account mail) sends
    -- for ever: a mail's lifetime counts from its own first try, the
    -- schedule's waits so far, not from the campaign's making.
    at = now
    for k = 1, n - 1 do at = at - tonumber(ARGV[8 + k] or 0) * 1000 end
  end
  local wait = tonumber(ARGV[8 + n] or -1)
  if wait >= 0 and now + wait * 1000 - at <= tonumber(ARGV[5]) then
    redis.call('ZADD', KEYS[3], now + wait * 1000, id)
    redis.call('HINCRBY', KEYS[1], 'deferred', 1)
    if o == 't' and person then
      redis.call('HSET', KEYS[8], id, ARGV[4] .. ' deferred')
    end
    return 2
  end
  o = 'f'
end
redis.call('SETBIT', KEYS[2], id, 1)
redis.call('HDEL', KEYS[4], id)
local word = 'failed'
if o == 's' then
  redis.call('HINCRBY', KEYS[1], 'sent', 1)
  if KEYS[10] then
    local v = redis.call('HGET', KEYS[10], id)
    if v then redis.call('HINCRBY', KEYS[1], 'ab_sent:' .. v, 1) end
  end
  word = 'sent'
elseif o == 'b' then
  redis.call('HINCRBY', KEYS[1], 'bounced', 1)
  redis.call('HINCRBY', KEYS[1], 'failed', 1)
  if person then redis.call('ZADD', KEYS[5], now, ARGV[3]) end
  word = 'bounced'
else
  redis.call('HINCRBY', KEYS[1], 'failed', 1)
end
if person then redis.call('HSET', KEYS[8], id, ARGV[4] .. ' ' .. word) end
if person and ARGV[6] ~= '' and word ~= 'failed' then
  local email = redis.call('HGET', KEYS[7], 'email')
  if email then
    redis.call('XADD', KEYS[9], '*', 'e', '{"id":' .. cjson.encode(ARGV[6]) ..
      ',"email":' .. cjson.encode(email) .. ',' .. string.sub(ARGV[7], 2),
      'ty', word, 'c', id, 'ca', ARGV[8])
  end
end
return 1
