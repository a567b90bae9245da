#!lua
-- record.lua: applies one campaign's share of a tracking chunk
-- (store.c, one call per campaign per chunk, pipelined).
--
-- KEYS (one hash tag {t:T:c:C}):
--   1 stats  2 openers  3 clickers  4 link_clickers  5 events
--   6 applied  7 unsubscribers  8 ts  9 erased (tombstones)
-- ARGV:
--   1 spool name  2 position (32 hex: segment, offset of the last event)
--   3 minid (the events stream's retention, "ms-0")
--   4 nhash: keyed hashes per contact below (one per key of the token
--     ring); 0 when the store saw no tombstone in this campaign
--   5 ncontact, then ncontact times: a contact id of the chunk and its
--     nhash keyed hashes (store_erased_contact_hash)
--   then counted lists, each a count followed by its items:
--   nincr {field delta}  nopen {contact}  nclick {contact}
--   nlink {link:contact}  nunsub {contact}  nts {bucket delta}
--   nrec [records]  (nrec 0, or the count and one text of records)
-- Returns 1 when applied, 0 when this spool's position was applied
-- already; an error TOMBSTONE when the campaign has tombstones the
-- store did not send hashes for (an erasure came in between: the store
-- sends the chunk again, with them).
--
-- Guarantees: at most once per (spool, position): applied[spool] holds
-- the last position applied and a call at or below it changes nothing,
-- so a replayed chunk (lost reply, reconnect, kill -9) counts no event
-- twice.  Unique counters grow only by what SADD really added.
-- Erasure holds: a contact whose keyed hash is in erased (erase.lua put
-- it there, atomically with removing its data) gets no per-person
-- write: no set membership, no record line; its hits still count in
-- the aggregates (stats' totals, link and country counts, ts), which
-- name nobody.

local last = redis.call('HGET', KEYS[6], ARGV[1])
if last and last >= ARGV[2] then return 0 end
local nhash, ncontact = tonumber(ARGV[4]), tonumber(ARGV[5])
local i = 6
-- The erased contacts of this chunk, by id.
local erased, any = {}, false
if redis.call('EXISTS', KEYS[9]) == 1 then
  if nhash == 0 then
    return redis.error_reply('TOMBSTONE erased contacts: send hashes')
  end
  for j = 1, ncontact do
    for h = 1, nhash do
      if redis.call('SISMEMBER', KEYS[9], ARGV[i + h]) == 1 then
        erased[ARGV[i]] = true
        any = true
      end
    end
    i = i + nhash + 1
  end
else
  i = i + ncontact * (nhash + 1)
end

-- The counted lists, read from ARGV[i] on; each moves i past its list.
-- {field delta} pairs added to the hash key.
local function incr_pairs(key)
  local n = tonumber(ARGV[i])
  for j = 1, n do
    redis.call('HINCRBY', key, ARGV[i + 2*j - 1], ARGV[i + 2*j])
  end
  i = i + 2*n + 1
end

-- The members of a counted list, without the erased contacts' (contact
-- picks the contact id out of a member).
local function members(contact)
  local n = tonumber(ARGV[i])
  local m = {}
  for j = 1, n do
    local v = ARGV[i + j]
    if not any or not erased[contact(v)] then m[#m + 1] = v end
  end
  i = i + n + 1
  return m
end

local function itself(v) return v end
local function after_colon(v) return string.match(v, ':(%d+)$') end

-- {contact} into the set; counter (in stats) grows by the new ones.
local function add_unique(set, counter)
  local m = members(itself)
  if #m > 0 then
    local added = redis.call('SADD', set, unpack(m))
    if added > 0 then redis.call('HINCRBY', KEYS[1], counter, added) end
  end
end

incr_pairs(KEYS[1])
add_unique(KEYS[2], 'opens_unique')
add_unique(KEYS[3], 'clicks_unique')
for _, m in ipairs(members(after_colon)) do
  if redis.call('SADD', KEYS[4], m) == 1 then
    redis.call('HINCRBY', KEYS[1], 'link_unique:' .. string.match(m, '^%d+'), 1)
  end
end
add_unique(KEYS[7], 'unsubscribes')
incr_pairs(KEYS[8])
if ARGV[i] ~= '0' then
  local n, text = ARGV[i], ARGV[i + 1]
  if any then
    local kept = {}
    for line in string.gmatch(text, '[^\n]+') do
      if not erased[string.match(line, '^%d+ %a (%d+) ')] then
        kept[#kept + 1] = line
      end
    end
    n = #kept
    text = table.concat(kept, '\n') .. '\n'
  end
  if tonumber(n) > 0 then
    redis.call('XADD', KEYS[5], 'MINID', '~', ARGV[3], '*', 'n', n, 'e', text)
  end
end
redis.call('HSET', KEYS[6], ARGV[1], ARGV[2])
return 1
