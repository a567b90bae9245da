-- sequence_claim.lua: a node's due-step job claims the enrollments due
-- now (sequence_tick.c, through store_sequence.c).
--
-- KEYS (one hash tag {t:T}): 1 sequence  2 tenant  3 enrolled  4 due
--   5 flight
-- ARGV: 1 now (ms)  2 at most this many  3 the lease (ms)
-- Returns {"stop"} when the sequence is gone or not active or the
-- tenant not active (nothing claimed: what is due stays due), else
-- {"ok", then id, step per enrollment claimed}.
--
-- Guarantees: an enrollment is claimed by one caller at a time: it
-- leaves due for flight with the score now + lease, so two nodes never
-- hold it at once unless the holder outlived its lease.  Leases that
-- ended (a node killed between claim and advance) are claimed first.
-- Cost: O(claimed * log n), whatever the number enrolled.

if redis.call('HGET', KEYS[1], 'status') ~= 'active' or
    redis.call('HGET', KEYS[2], 'status') ~= 'active' then
  return {'stop'}
end
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local until_ = now + tonumber(ARGV[3])
local out = {'ok'}
local function take(src)
  local ids = redis.call('ZRANGEBYSCORE', src, '-inf', now, 'LIMIT', 0,
    limit)
  for _, id in ipairs(ids) do
    limit = limit - 1
    if src ~= KEYS[5] then redis.call('ZREM', src, id) end
    local step = redis.call('HGET', KEYS[3], id)
    if step and step ~= 'c' and step ~= 'x' then
      redis.call('ZADD', KEYS[5], until_, id)
      out[#out + 1] = id
      out[#out + 1] = step
    else
      -- erased (field gone) or ended: nothing is due for it
      redis.call('ZREM', KEYS[5], id)
    end
  end
end
take(KEYS[5])
if limit > 0 then take(KEYS[4]) end
return out
