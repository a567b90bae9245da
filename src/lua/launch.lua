-- launch.lua: launches a draft campaign (api_launch.c).
--
-- KEYS (one hash tag {t:T}):
--   1 camp  2 tenant  3 list  4 list members  5 template  6 q  7 queued
-- ARGV: 1 now (ms); 2 the status it launches from: "draft" (the API's
--   launch; the default) or "scheduled" (the due job, api_schedule.c:
--   then only once send_at has come); 3 "none" when the campaign has no
--   list (a campaign with only a segment has none: KEYS 3 and 4 then
--   name list 0, which never exists), else "list" (the default); 4
--   (optional) its segment's definition, frozen here into the record's
--   segment_def: the snapshot evaluates that one.
-- Returns {"ok", total}, or why not: {"gone"}, {"tenant"},
-- {"state", status}, {"list"}, {"template"}, {"early"} (scheduled, and
-- send_at has not come).
--
-- Guarantees: only a draft of an active tenant, with its list and
-- template, is launched: queue and queued bitmap start empty, the
-- stream's group "senders" is created, and the scan cursor is tied to
-- this Redis process's run_id (see launch_step.lua).

local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'gone'} end
if redis.call('HGET', KEYS[2], 'status') ~= 'active' then
  return {'tenant'}
end
local from = ARGV[2] or 'draft'
if st ~= from then return {'state', st} end
if from == 'scheduled' and
    tonumber(redis.call('HGET', KEYS[1], 'send_at') or '0') >
    tonumber(ARGV[1]) then
  return {'early'}
end
if ARGV[3] ~= 'none' and redis.call('EXISTS', KEYS[3]) == 0 then
  return {'list'}
end
if redis.call('EXISTS', KEYS[5]) == 0 then return {'template'} end
local runid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
-- A segment's size is known when its snapshot ends (launch_step.lua).
local total = 0
if ARGV[4] == nil then total = redis.call('SCARD', KEYS[4]) end
redis.call('DEL', KEYS[6], KEYS[7])
redis.call('XGROUP', 'CREATE', KEYS[6], 'senders', '0', 'MKSTREAM')
redis.call('HSET', KEYS[1], 'status', 'sending', 'launched_at', ARGV[1],
  'total', total, 'queued', 0, 'snapshot', 0, 'scan_cursor', 0,
  'scan_runid', runid,
  'sent', 0, 'failed', 0, 'deferred', 0, 'bounced', 0,
  'sup_opted_out', 0, 'sup_blocklisted', 0, 'sup_special_category', 0,
  'sup_bounced', 0, 'sup_erased', 0, 'sup_complained', 0)
if ARGV[4] ~= nil then
  redis.call('HSET', KEYS[1], 'segment_def', ARGV[4])
else
  redis.call('HDEL', KEYS[1], 'segment_def')
end
return {'ok', total}
