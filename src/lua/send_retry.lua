-- send_retry.lua: puts due retries back in the campaign's queue
-- (sender.c, now and then per campaign).
--
-- KEYS (one hash tag {t:T}): 1 camp  2 retry (zset)  3 q (stream)
--   4 later (zset: local_time recipients not due yet)  5 ab_rest (unused
--   here; send_finish.lua's)
-- ARGV: 1 now (ms)
-- Returns the number of ids queued again (at most 100), or when none,
-- the number of local_time recipients now due and queued (at most
-- 5,000 a call, in entries of 100: the pump runs once a second per
-- campaign, and a zone's whole share may come due at once).
--
-- Guarantees: only while the campaign is sending; the ids move from
-- retry to one queue entry (try 1) atomically, and camp's deferred
-- drops by as many; due ids of later move to a queue entry (try 0),
-- never one before its time.

if redis.call('HGET', KEYS[1], 'status') ~= 'sending' then return 0 end
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1],
    'LIMIT', 0, 100)
if #ids == 0 then
  if not KEYS[4] then return 0 end
  ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[1], 'LIMIT', 0,
    5000)
  for b = 1, #ids, 100 do
    local batch = {unpack(ids, b, math.min(b + 99, #ids))}
    redis.call('ZREM', KEYS[4], unpack(batch))
    redis.call('XADD', KEYS[3], '*', 'ids', table.concat(batch, ','),
      'try', '0')
  end
  return #ids
end
redis.call('ZREM', KEYS[2], unpack(ids))
redis.call('XADD', KEYS[3], '*', 'ids', table.concat(ids, ','),
    'try', '1')
redis.call('HINCRBY', KEYS[1], 'deferred', -#ids)
return #ids
