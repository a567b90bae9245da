#!lua
-- record.lua: applies one campaign's share of a tracking chunk
-- (store.c, one call per campaign per chunk, pipelined).
--
-- KEYS (one hash tag {t:T:c:C}):
--   1 stats  2 openers  3 clickers  4 link_clickers  5 events
--   6 applied  7 unsubscribers  8 ts
-- ARGV:
--   1 spool name  2 position (32 hex: segment, offset of the last event)
--   3 minid (the events stream's retention, "ms-0")
--   then counted lists, each a count followed by its items:
--   nincr {field delta}  nopen {contact}  nclick {contact}
--   nlink {link:contact}  nunsub {contact}  nts {bucket delta}
--   nrec [records]  (nrec 0, or the count and one text of records)
-- Returns 1 when applied, 0 when this spool's position was applied
-- already.
--
-- Guarantees: at most once per (spool, position): applied[spool] holds
-- the last position applied and a call at or below it changes nothing,
-- so a replayed chunk (lost reply, reconnect, kill -9) counts no event
-- twice.  Unique counters grow only by what SADD really added.

local last = redis.call('HGET', KEYS[6], ARGV[1])
if last and last >= ARGV[2] then return 0 end
local i = 4

-- The counted lists, read from ARGV[i] on; each moves i past its list.
-- {field delta} pairs added to the hash key.
local function incr_pairs(key)
  local n = tonumber(ARGV[i])
  for j = 1, n do
    redis.call('HINCRBY', key, ARGV[i + 2*j - 1], ARGV[i + 2*j])
  end
  i = i + 2*n + 1
end

-- {contact} into the set; counter (in stats) grows by the new ones.
local function add_unique(set, counter)
  local n = tonumber(ARGV[i])
  if n > 0 then
    local added = redis.call('SADD', set, unpack(ARGV, i + 1, i + n))
    if added > 0 then redis.call('HINCRBY', KEYS[1], counter, added) end
  end
  i = i + n + 1
end

incr_pairs(KEYS[1])
add_unique(KEYS[2], 'opens_unique')
add_unique(KEYS[3], 'clicks_unique')
local n = tonumber(ARGV[i])
for j = 1, n do
  local m = ARGV[i + j]
  if redis.call('SADD', KEYS[4], m) == 1 then
    redis.call('HINCRBY', KEYS[1], 'link_unique:' .. string.match(m, '^%d+'), 1)
  end
end
i = i + n + 1
add_unique(KEYS[7], 'unsubscribes')
incr_pairs(KEYS[8])
if ARGV[i] ~= '0' then
  redis.call('XADD', KEYS[5], 'MINID', '~', ARGV[3], '*', 'n', ARGV[i], 'e', ARGV[i + 1])
end
redis.call('HSET', KEYS[6], ARGV[1], ARGV[2])
return 1
