-- sequence_state.lua: a sequence activated or paused (api_sequence.c,
-- through store_sequence.c), and its steps' hidden campaigns with it.
--
-- KEYS (one hash tag {t:T}): 1 sequence  2 tenant, then each step's
--   campaign record
-- ARGV: 1 the new status, "active" or "paused"
-- Returns {"ok"}, {"gone"}, {"tenant"} (not active), or {"state", s}
-- when the change does not apply (pausing a draft).
--
-- Guarantees: a step campaign is "sending" exactly while its sequence
-- is active, so the senders send its queue only then (a paused
-- sequence's queued mails wait, as a paused campaign's do).

local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'gone'} end
if redis.call('HGET', KEYS[2], 'status') ~= 'active' then
  return {'tenant'}
end
if ARGV[1] == 'paused' and st == 'draft' then return {'state', st} end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
local cs = ARGV[1] == 'active' and 'sending' or 'paused'
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('HSET', KEYS[i], 'status', cs)
  end
end
return {'ok'}
