-- schedule.lua: a draft campaign with a send_at in the future becomes
-- "scheduled" (api_launch.c); the due job launches it then
-- (launch.lua, from "scheduled").
--
-- KEYS (one hash tag {t:T}): 1 camp  2 tenant  3 list  4 template
-- ARGV: 1 now (ms); 2 "none" when the campaign has no list (a segment
--   of every contact: KEYS 3 names list 0), else "list" (the default)
-- Returns {"ok"}, or why not: {"gone"}, {"tenant"}, {"state", status},
-- {"list"}, {"template"}, {"due"} (send_at is not in the future:
-- launch it now).
--
-- Guarantees: only a draft of an active tenant, with its list and
-- template, is scheduled; nothing is queued until launch.lua runs.

local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'gone'} end
if redis.call('HGET', KEYS[2], 'status') ~= 'active' then
  return {'tenant'}
end
if st ~= 'draft' then return {'state', st} end
if ARGV[2] ~= 'none' and redis.call('EXISTS', KEYS[3]) == 0 then
  return {'list'}
end
if redis.call('EXISTS', KEYS[4]) == 0 then return {'template'} end
local at = tonumber(redis.call('HGET', KEYS[1], 'send_at') or '0')
if at <= tonumber(ARGV[1]) then return {'due'} end
redis.call('HSET', KEYS[1], 'status', 'scheduled', 'scheduled_at', ARGV[1])
return {'ok'}
