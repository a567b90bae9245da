-- send_finish.lua: marks a campaign done when nothing is left to send
-- (sender.c).
--
-- KEYS (one hash tag {t:T}): 1 camp  2 q (stream)  3 retry (zset)
--   4 later (zset)  5 ab_rest (list)
-- ARGV: 1 now (ms)
-- Returns 1 when the campaign became done, else 0.
--
-- Guarantees: done only from sending, with the snapshot complete, no
-- retry waiting, no local_time recipient still to come, no A/B rest
-- held for the winner, no queue entry pending, and every entry
-- delivered to the group "senders".

if redis.call('HGET', KEYS[1], 'status') ~= 'sending' or
    redis.call('HGET', KEYS[1], 'snapshot') ~= '1' or
    redis.call('ZCARD', KEYS[3]) > 0 then return 0 end
if KEYS[4] and (redis.call('ZCARD', KEYS[4]) > 0 or
    redis.call('LLEN', KEYS[5]) > 0) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  local p = redis.call('XPENDING', KEYS[2], 'senders')
  if p[1] > 0 then return 0 end
  local last = redis.call('XINFO', 'STREAM', KEYS[2])
  local gen
  for i = 1, #last, 2 do
    if last[i] == 'last-generated-id' then gen = last[i + 1] end
  end
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[2])) do
    for i = 1, #g, 2 do
      if g[i] == 'last-delivered-id' and g[i + 1] ~= gen then
        return 0
      end
    end
  end
end
redis.call('HSET', KEYS[1], 'status', 'done', 'finished_at', ARGV[1])
return 1
