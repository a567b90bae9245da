-- send_check.lua: the suppression checks of one sender batch, at the
-- moment of sending (sender.c, one round trip per chunk of an entry).
--
-- KEYS (one hash tag {t:T}):
--   1 camp  2 tenant  3 done (bitmap)  4 optouts  5 optout_ids
--   6 blocklist  7 bounces  8 retry  9 complaints, then one contact hash
--   per ARGV id
-- ARGV: the contact ids of the batch.
-- Returns {"stop", why} when the campaign is not sending (why: its
-- status, or "gone") or the tenant not active; else {"ok", then per
-- recipient to send: id, email, key, first_name, last_name, gender,
-- date_of_birth, attributes}.
--
-- Guarantees: a recipient final already (done bit) or waiting for a
-- retry is skipped.  One that is erased, quarantined (special
-- category), who complained (ARF), opted out (flag, id or address),
-- bounced before, or whose
-- address or domain is blocklisted is made final at once (done bit)
-- and counted once in camp's sup_<why>; nobody else is written.
-- A recipient hash with transactional=1 (a system campaign's password
-- reset, store_sysmail.h: the account holder asked for it) skips the
-- complaint and opt-out checks, never the others.

local st = redis.call('HGET', KEYS[1], 'status')
if st ~= 'sending' then return {'stop', st or 'gone'} end
local ts = redis.call('HGET', KEYS[2], 'status')
if ts ~= 'active' then return {'stop', 'tenant'} end
local out = {'ok'}
for i, id in ipairs(ARGV) do
  if redis.call('GETBIT', KEYS[3], id) == 0 and
      not redis.call('ZSCORE', KEYS[8], id) then
    local c = redis.call('HMGET', KEYS[9 + i], 'email', 'key',
        'quarantined', 'suppressed', 'first_name', 'last_name',
        'gender', 'date_of_birth', 'attributes', 'transactional')
    local tx = c[10] == '1'
    local why
    if not c[1] then why = 'erased'
    elseif c[3] == '1' then why = 'special_category'
    elseif not tx and redis.call('ZSCORE', KEYS[9], c[2]) then
      why = 'complained'
    elseif not tx and (c[4] == '1' or redis.call('ZSCORE', KEYS[5], id) or
        redis.call('ZSCORE', KEYS[4], c[2])) then why = 'opted_out'
    elseif redis.call('ZSCORE', KEYS[7], c[2]) then why = 'bounced'
    elseif redis.call('ZSCORE', KEYS[6], c[2]) or
        redis.call('ZSCORE', KEYS[6], string.match(c[2], '@.*$') or '')
        then why = 'blocklisted'
    end
    if why then
      redis.call('SETBIT', KEYS[3], id, 1)
      redis.call('HINCRBY', KEYS[1], 'sup_' .. why, 1)
    else
      out[#out + 1] = id
      for k = 1, 9 do
        if k ~= 3 and k ~= 4 then out[#out + 1] = c[k] or '' end
      end
    end
  end
end
return out
