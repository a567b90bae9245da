-- ab_release.lua: an A/B test's winner, and its rest queued
-- (api_schedule.c's due job, once the test's wait is over).
--
-- KEYS (one hash tag {t:T}): 1 camp  2 ab_rest (list)  3 q (stream)
-- ARGV: 1 the winner (a variant number), 2 now (ms), 3 at most this
--   many batches moved by this call, then the figures the winner was
--   chosen on: field value pairs for camp (ab_sent:V, ab_opens:V...).
-- Returns {winner, left}: the winner in force (the first call's: a
-- second node's call keeps it) and the batches still held back.
--
-- Guarantees: the winner is set once (HSETNX), with the figures it was
-- chosen on; the held-back ids go to the queue as entries of the
-- winner's variant (field v), each batch once (LPOP and XADD in the same
-- script).  Only while the campaign is sending, paused or done (a test
-- of the whole list): a cancelled one keeps its rest out of the queue.

local st = redis.call('HGET', KEYS[1], 'status')
if st ~= 'sending' and st ~= 'paused' and st ~= 'done' then
  return {redis.call('HGET', KEYS[1], 'ab_winner') or '0',
    redis.call('LLEN', KEYS[2])}
end
if redis.call('HSETNX', KEYS[1], 'ab_winner', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'ab_decided_at', ARGV[2])
  for i = 4, #ARGV, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
local w = redis.call('HGET', KEYS[1], 'ab_winner')
for i = 1, tonumber(ARGV[3]) do
  local b = redis.call('LPOP', KEYS[2])
  if not b then break end
  redis.call('XADD', KEYS[3], '*', 'ids', b, 'try', '0', 'v', w)
end
return {w, redis.call('LLEN', KEYS[2])}
