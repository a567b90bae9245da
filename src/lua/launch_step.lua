-- launch_step.lua: one step of a launch's list snapshot
-- (api_launch.c, one SSCAN page per step).
--
-- KEYS (one hash tag {t:T}): 1 q  2 queued (bitmap)  3 camp  4 tenant
-- ARGV: 1 the cursor SSCAN gave after this page, then the page's
--   contact ids.
-- Returns {what, n}, n the ids queued now, what one of: "next" (go on
-- from the cursor), "done" (that was the last page), "restart" (the
-- stored cursor is another Redis process's, after a restart or a
-- failover: scan again from 0), "stop" (the campaign is neither
-- sending nor paused, or the tenant not active) or "complete" (the
-- snapshot was finished by another node).
--
-- Guarantees: each id is queued at most once per launch, however often
-- a page is scanned (its bit in queued); ids go in entries of at most
-- 100; camp's queued grows by what was queued.

local st = redis.call('HGET', KEYS[3], 'status')
if st ~= 'sending' and st ~= 'paused' then return {'stop', 0} end
if redis.call('HGET', KEYS[4], 'status') ~= 'active' then
  return {'stop', 0}
end
if redis.call('HGET', KEYS[3], 'snapshot') == '1' then
  return {'complete', 0}
end
local runid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local batch, n = {}, 0
for i = 2, #ARGV do
  if redis.call('SETBIT', KEYS[2], ARGV[i], 1) == 0 then
    batch[#batch + 1] = ARGV[i]
    n = n + 1
    if #batch == 100 then
      redis.call('XADD', KEYS[1], '*', 'ids', table.concat(batch, ','),
        'try', '0')
      batch = {}
    end
  end
end
if #batch > 0 then
  redis.call('XADD', KEYS[1], '*', 'ids', table.concat(batch, ','),
    'try', '0')
end
if n > 0 then redis.call('HINCRBY', KEYS[3], 'queued', n) end
if redis.call('HGET', KEYS[3], 'scan_runid') ~= runid then
  redis.call('HSET', KEYS[3], 'scan_cursor', '0', 'scan_runid', runid)
  return {'restart', n}
end
if ARGV[1] == '0' then
  redis.call('HSET', KEYS[3], 'scan_cursor', '0', 'snapshot', '1')
  return {'done', n}
end
redis.call('HSET', KEYS[3], 'scan_cursor', ARGV[1])
return {'next', n}
