-- sequence_advance.lua: one step of some enrollments a node claimed
-- (sequence_tick.c, through store_sequence.c), all at the same step k.
--
-- KEYS (one hash tag {t:T}): 1 sequence  2 enrolled  3 due  4 flight
--   5 step k's campaign  6 its queue (stream)  7 its queued (bitmap)
--   8 optouts  9 optout_ids  10 bounces  11 complaints, then one
--   contact hash per enrollment
-- ARGV: 1 now (ms)  2 k  3 the next step's delay (ms), or -1 when k is
--   the last, then per enrollment: contact id, "1" to send step k (its condition met) or
--   "0" to skip it.
-- Returns {queued, skipped, exited, completed}.
--
-- Guarantees, in one script so a kill -9 anywhere leaves each
-- enrollment either before step k or after it:
--  - only an enrollment still in flight at step k moves (another node
--    that took it over after the lease, or a repeat, finds it moved);
--  - an erased contact's enrollment is removed; one opted out (flag,
--    id or address), quarantined, bounced or who complained ends
--    ("x", exited) and is sent nothing;
--  - step k goes to a contact at most once: its bit in the step
--    campaign's queued bitmap, as launch_step.lua queues a list; the
--    ids go into the campaign's queue in entries of at most 100, where
--    the senders check everything again at send time (send_check.lua);
--  - then the next step is due at now + its delay, or the enrollment
--    is complete.

local seq = redis.call('HMGET', KEYS[1], 'status')
if not seq[1] then return {0, 0, 0, 0} end
local now, k, delay = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local batch, queued, skipped, exited, completed = {}, 0, 0, 0, 0
local function flush()
  if #batch > 0 then
    redis.call('XADD', KEYS[6], '*', 'ids', table.concat(batch, ','),
      'try', '0')
    batch = {}
  end
end
for i = 4, #ARGV, 2 do
  local id, send = ARGV[i], ARGV[i + 1]
  local ckey = KEYS[11 + (i - 2) / 2]
  if redis.call('ZSCORE', KEYS[4], id) and
      redis.call('HGET', KEYS[2], id) == k then
    redis.call('ZREM', KEYS[4], id)
    local c = redis.call('HMGET', ckey, 'key', 'quarantined', 'suppressed')
    if not c[1] then
      redis.call('HDEL', KEYS[2], id)
      redis.call('HINCRBY', KEYS[1], 'active', -1)
      redis.call('HINCRBY', KEYS[1], 'exited', 1)
      exited = exited + 1
    elseif c[2] == '1' or c[3] == '1' or
        redis.call('ZSCORE', KEYS[9], id) or
        redis.call('ZSCORE', KEYS[8], c[1]) or
        redis.call('ZSCORE', KEYS[10], c[1]) or
        redis.call('ZSCORE', KEYS[11], c[1]) then
      redis.call('HSET', KEYS[2], id, 'x')
      redis.call('HINCRBY', KEYS[1], 'active', -1)
      redis.call('HINCRBY', KEYS[1], 'exited', 1)
      exited = exited + 1
    else
      if send == '1' then
        if redis.call('SETBIT', KEYS[7], id, 1) == 0 then
          batch[#batch + 1] = id
          queued = queued + 1
          if #batch == 100 then flush() end
        end
      else
        skipped = skipped + 1
      end
      if delay >= 0 then
        redis.call('HSET', KEYS[2], id, tostring(tonumber(k) + 1))
        redis.call('ZADD', KEYS[3], now + delay, id)
      else
        redis.call('HSET', KEYS[2], id, 'c')
        redis.call('HINCRBY', KEYS[1], 'active', -1)
        redis.call('HINCRBY', KEYS[1], 'completed', 1)
        completed = completed + 1
      end
    end
  end
end
flush()
if queued > 0 then
  redis.call('HINCRBY', KEYS[5], 'queued', queued)
  redis.call('HINCRBY', KEYS[5], 'total', queued)
end
if skipped > 0 then
  redis.call('HINCRBY', KEYS[1], 'step:' .. k .. ':skipped', skipped)
end
return {queued, skipped, exited, completed}
