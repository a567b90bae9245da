-- launch_state.lua: a campaign's state change: pause, resume, cancel
-- (api_launch.c).
--
-- KEYS (one hash tag {t:T}): 1 camp  2 q  3 queued
-- ARGV: 1 the new status, then the statuses it may follow.
-- Returns {"ok", old}, {"state", status} or {"gone"}.
--
-- Guarantees: the status changes only from one it may follow, checked
-- and set atomically (senders set "done" concurrently).  Cancelling
-- drops the queue and its bitmap.

local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'gone'} end
for i = 2, #ARGV do
  if st == ARGV[i] then
    redis.call('HSET', KEYS[1], 'status', ARGV[1])
    if ARGV[1] == 'cancelled' then redis.call('DEL', KEYS[2], KEYS[3]) end
    return {'ok', st}
  end
end
return {'state', st}
