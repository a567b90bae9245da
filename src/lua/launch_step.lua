-- launch_step.lua: one step of a launch's list snapshot (store_launch.c
-- runs it, one SSCAN page per step, as api_launch.c schedules them).
--
-- KEYS (one hash tag {t:T}): 1 q  2 queued (bitmap)  3 camp  4 tenant
--   5 scan (the lease)
-- ARGV: 1 the cursor SSCAN gave after this page, 2 this node's node_id,
--   3 the lease's life (ms, claim_idle), then the page's contact ids.
-- Returns {what, n}, n the ids queued now, what one of: "next" (go on
-- from the cursor), "done" (that was the last page), "restart" (the
-- stored cursor is another Redis process's, after a restart or a
-- failover: scan again from 0), "stop" (the campaign is neither
-- sending nor paused, or the tenant not active) or "complete" (the
-- snapshot was finished by another node).
--
-- A segment's snapshot (the record has a segment_def) gives only the
-- page's ids that match it (store_launch.c evaluates them first), and
-- its last step sets total to what was queued.
--
-- Guarantees: each id is queued at most once per launch, however often
-- a page is scanned (its bit in queued); ids go in entries of at most
-- 100; camp's queued grows by what was queued.  The lease names this
-- node for ARGV[3] ms more after each step that goes on, and is gone
-- once the snapshot ends.

local st = redis.call('HGET', KEYS[3], 'status')
if st ~= 'sending' and st ~= 'paused' then
  redis.call('DEL', KEYS[5])
  return {'stop', 0}
end
if redis.call('HGET', KEYS[4], 'status') ~= 'active' then
  redis.call('DEL', KEYS[5])
  return {'stop', 0}
end
if redis.call('HGET', KEYS[3], 'snapshot') == '1' then
  redis.call('DEL', KEYS[5])
  return {'complete', 0}
end
local runid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local batch, n = {}, 0
for i = 4, #ARGV do
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
  redis.call('SET', KEYS[5], ARGV[2], 'PX', ARGV[3])
  return {'restart', n}
end
if ARGV[1] == '0' then
  if redis.call('HEXISTS', KEYS[3], 'segment_def') == 1 then
    redis.call('HSET', KEYS[3], 'total', redis.call('HGET', KEYS[3],
      'queued'))
  end
  redis.call('HSET', KEYS[3], 'scan_cursor', '0', 'snapshot', '1')
  redis.call('DEL', KEYS[5])
  return {'done', n}
end
redis.call('HSET', KEYS[3], 'scan_cursor', ARGV[1])
redis.call('SET', KEYS[5], ARGV[2], 'PX', ARGV[3])
return {'next', n}
