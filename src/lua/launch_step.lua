-- launch_step.lua: one step of a launch's list snapshot (store_launch.c
-- runs it, one SSCAN page per step, as api_launch.c schedules them).
--
-- KEYS (one hash tag {t:T}): 1 q  2 queued (bitmap)  3 camp  4 tenant
--   5 scan (the lease); for a campaign with a schedule or an A/B test
--   (store_launch.c passes them then) 6 later (zset)  7 ab (hash)
--   8 ab_rest (list)
-- ARGV: 1 the cursor SSCAN gave after this page, 2 this node's node_id,
--   3 the lease's life (ms, claim_idle); with KEYS 6-8: 4 now (ms),
--   5 the A/B test, "NVARIANTS:NTEST" ("0:0": none); then the page's
--   contact ids, each "ID" or, for local_time, "ID@DUE" (ms).
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
-- 100; camp's queued grows by what was queued.  An id due later goes
-- to later (the senders move it to q when due), never to q now.  Of
-- an A/B test, the first NTEST ids queued (ab_pos counts them) go to
-- the variants in turn, each entry of one variant (field v) and each
-- id's variant in ab, ab_queued:V counting them; the rest wait in
-- ab_rest (batches of at most 100) for the winner (ab_release.lua).  The lease names this
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
local first, now, nv, ntest = 4, 0, 0, 0
if #KEYS >= 8 then
  first = 6
  now = tonumber(ARGV[4])
  local a, b = string.match(ARGV[5], '^(%d+):(%d+)$')
  nv, ntest = tonumber(a or '0'), tonumber(b or '0')
end
-- batches[0] the plain queue, [1..nv] the variants', rest the held ones.
local batches, rest, n = {[0] = {}}, {}, 0
for v = 1, nv do batches[v] = {} end
local function flush(v)
  local b = batches[v]
  if #b == 0 then return end
  if v == 0 then
    redis.call('XADD', KEYS[1], '*', 'ids', table.concat(b, ','),
      'try', '0')
  else
    redis.call('XADD', KEYS[1], '*', 'ids', table.concat(b, ','),
      'try', '0', 'v', v)
  end
  batches[v] = {}
end
for i = first, #ARGV do
  local id, due = string.match(ARGV[i], '^(%d+)@?(%d*)$')
  if id and redis.call('SETBIT', KEYS[2], id, 1) == 0 then
    n = n + 1
    if due ~= '' and tonumber(due) > now then
      redis.call('ZADD', KEYS[6], due, id)
    else
      local v = 0
      if nv > 0 then
        local pos = redis.call('HINCRBY', KEYS[3], 'ab_pos', 1)
        if pos <= ntest then
          v = (pos - 1) % nv + 1
          redis.call('HSET', KEYS[7], id, v)
          redis.call('HINCRBY', KEYS[3], 'ab_queued:' .. v, 1)
        else
          v = -1
        end
      end
      if v < 0 then
        rest[#rest + 1] = id
        if #rest == 100 then
          redis.call('RPUSH', KEYS[8], table.concat(rest, ','))
          rest = {}
        end
      else
        local b = batches[v]
        b[#b + 1] = id
        if #b == 100 then flush(v) end
      end
    end
  end
end
for v = 0, nv do flush(v) end
if #rest > 0 then redis.call('RPUSH', KEYS[8], table.concat(rest, ',')) end
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
