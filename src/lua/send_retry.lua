-- send_retry.lua: puts due retries back in the campaign's queue
-- (sender.c, now and then per campaign).
--
-- KEYS (one hash tag {t:T}): 1 camp  2 retry (zset)  3 q (stream)
-- ARGV: 1 now (ms)
-- Returns the number of ids queued again (at most 100).
--
-- Guarantees: only while the campaign is sending; the ids move from
-- retry to one queue entry (try 1) atomically, and camp's deferred
-- drops by as many.

if redis.call('HGET', KEYS[1], 'status') ~= 'sending' then return 0 end
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1],
    'LIMIT', 0, 100)
if #ids == 0 then return 0 end
redis.call('ZREM', KEYS[2], unpack(ids))
redis.call('XADD', KEYS[3], '*', 'ids', table.concat(ids, ','),
    'try', '1')
redis.call('HINCRBY', KEYS[1], 'deferred', -#ids)
return #ids
