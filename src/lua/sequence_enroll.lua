-- sequence_enroll.lua: contacts enrolled in a sequence (store_sequence.c:
-- POST /v1/sequences/S/enroll, and a trigger list's new members).
--
-- KEYS (one hash tag {t:T}): 1 sequence  2 enrolled  3 due  4 optouts
--   5 optout_ids  6 bounces  7 complaints, then one contact hash per id
-- ARGV: 1 now (ms), then the contact ids.
-- Returns {"gone"} when the sequence does not exist, else {"ok", then
-- per id "" (enrolled now) or why not: "not_found", "already_enrolled",
-- "quarantined", "opted_out", "bounced", "complained"}.
--
-- Guarantees: a contact is enrolled in a sequence at most once, ever
-- (its field in enrolled stays when it completes or exits); an enrolled
-- contact's first step is due at now + step 0's delay; the counters
-- enrolled and active grow by those enrolled.

local delay = redis.call('HGET', KEYS[1], 'step:0:delay')
if not delay then return {'gone'} end
local due = tonumber(ARGV[1]) + tonumber(delay)
local out, n = {'ok'}, 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local c = redis.call('HMGET', KEYS[7 + i - 1], 'key', 'quarantined',
    'suppressed')
  local why = ''
  if not c[1] then why = 'not_found'
  elseif redis.call('HEXISTS', KEYS[2], id) == 1 then
    why = 'already_enrolled'
  elseif c[2] == '1' then why = 'quarantined'
  elseif c[3] == '1' or redis.call('ZSCORE', KEYS[5], id) or
      redis.call('ZSCORE', KEYS[4], c[1]) then why = 'opted_out'
  elseif redis.call('ZSCORE', KEYS[6], c[1]) then why = 'bounced'
  elseif redis.call('ZSCORE', KEYS[7], c[1]) then why = 'complained'
  end
  if why == '' then
    redis.call('HSET', KEYS[2], id, '0')
    redis.call('ZADD', KEYS[3], due, id)
    n = n + 1
  end
  out[#out + 1] = why
end
if n > 0 then
  redis.call('HINCRBY', KEYS[1], 'enrolled', n)
  redis.call('HINCRBY', KEYS[1], 'active', n)
end
return out
