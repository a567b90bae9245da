-- bounce.lua: records one report sent back to a VERP address
-- (store_bounce.c, from the bounce listener).
--
-- KEYS (one hash tag {t:T}):
--   1 camp  2 contact  3 bounces (zset)  4 soft bounces (hash)
--   5 complaints (zset)  6 optouts  7 optouts:at  8 bounce log (stream)
--   9 events (the tenant's event log)
-- ARGV: 1 kind: hard, soft, complaint or unrecognised  2 contact id
--   3 campaign id  4 now (ms)  5 status  6 diagnostic
--   7 soft bounces in a row that suppress  8 the event's type (bounced,
--   complained; "" for none) 9 its partial JSON (event.c's event_json)
-- Returns {'gone'} when the contact is not there (erased, or its tenant
-- purged): nothing is written.  Else {'ok', suppressed, counted}:
-- suppressed 1 when this report newly suppressed the address, counted 1
-- when a campaign counter moved.
--
-- Guarantees: only the contact the (authenticated) VERP address names
-- is touched.  A hard bounce or complaint is counted once per address
-- (a repeated report changes no counter); a campaign that is gone gets
-- no counter (its record is not made again).  A bounce or complaint
-- goes into the event log with the report, with the address the
-- contact has and an id made of the log entry's ("report:" ID): one
-- report, one event.

local kind, id, camp, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = redis.call('HGET', KEYS[2], 'key')
if not key then return {'gone'} end
local has_camp = redis.call('EXISTS', KEYS[1]) == 1
local suppressed, counted = 0, 0
if kind == 'hard' then
  if redis.call('ZADD', KEYS[3], 'NX', now, key) == 1 then
    suppressed = 1
    if has_camp then
      redis.call('HINCRBY', KEYS[1], 'bounced', 1)
      counted = 1
    end
  end
  redis.call('HDEL', KEYS[4], key)
elseif kind == 'soft' then
  local n = redis.call('HINCRBY', KEYS[4], key, 1)
  if has_camp then
    redis.call('HINCRBY', KEYS[1], 'bounces_soft', 1)
    counted = 1
  end
  if n >= tonumber(ARGV[7]) then
    suppressed = redis.call('ZADD', KEYS[3], 'NX', now, key)
    redis.call('HDEL', KEYS[4], key)
  end
elseif kind == 'complaint' then
  if redis.call('ZADD', KEYS[5], 'NX', now, key) == 1 then
    suppressed = 1
    if has_camp then
      redis.call('HINCRBY', KEYS[1], 'complaints', 1)
      counted = 1
    end
  end
  redis.call('ZADD', KEYS[6], 0, key)
  redis.call('HSETNX', KEYS[7], key, now)
end
local entry = redis.call('XADD', KEYS[8], 'MAXLEN', '~', 100000, '*',
  'kind', kind, 'status', ARGV[5], 'diagnostic', ARGV[6], 'campaign', camp,
  'contact', id)
if ARGV[8] ~= '' then
  local email = redis.call('HGET', KEYS[2], 'email')
  redis.call('XADD', KEYS[9], '*', 'e', '{"id":' ..
    cjson.encode('report:' .. entry) .. ',"email":' ..
    (email and cjson.encode(email) or 'null') .. ',' ..
    string.sub(ARGV[9], 2), 'ty', ARGV[8], 'c', id, 'ca', camp)
end
return {'ok', suppressed, counted}
