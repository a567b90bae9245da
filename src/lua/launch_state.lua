-- launch_state.lua: a campaign's state change: pause, resume, cancel
-- (api_launch.c).
--
-- KEYS (one hash tag {t:T}): 1 camp  2 q  3 queued, and optionally
--   4 later  5 ab_rest (local_time and A/B recipients still held)
-- ARGV: 1 the new status, then the statuses it may follow.
-- Returns {"ok", old, new}, {"state", status} or {"gone"}.
--
-- A campaign paused while "scheduled" (never launched: no launched_at)
-- goes back to "scheduled" when resumed, not to "sending": its list was
-- never queued, and the due job (api_schedule.c) launches it at
-- send_at.
--
-- Guarantees: the status changes only from one it may follow, checked
-- and set atomically (senders set "done" concurrently).  Cancelling
-- drops the queue and its bitmap, and the recipients held for later.

local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'gone'} end
for i = 2, #ARGV do
  if st == ARGV[i] then
    local to = ARGV[1]
    if to == 'sending' and
        not redis.call('HGET', KEYS[1], 'launched_at') then
      to = 'scheduled'
    end
    redis.call('HSET', KEYS[1], 'status', to)
    if to == 'cancelled' then
      redis.call('DEL', KEYS[2], KEYS[3])
      if KEYS[5] then redis.call('DEL', KEYS[4], KEYS[5]) end
    end
    return {'ok', st, to}
  end
end
return {'state', st}
