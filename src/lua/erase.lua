-- erase.lua: removes one contact from one campaign's tracking data
-- (store_subject.c, GDPR erasure; once per campaign of the tenant).
--
-- KEYS (one hash tag {t:T:c:C}):
--   1 events  2 openers  3 clickers  4 unsubscribers  5 link_clickers
--   6 erased (the tombstones record.lua looks for)
-- ARGV: 1 contact id  2 its keyed hash (store_erased_contact_hash)
-- Returns {events removed, set memberships removed}.
--
-- Guarantees: the events stream is rewritten without the contact's
-- lines (entry ids kept; each removed line becomes "-", so the other
-- lines keep their numbers, which are their events' ids and the
-- positions of the feed and webhook cursors; emptied entries dropped)
-- atomically against
-- the tracker's writes; the contact leaves every unique set; and the
-- tombstone is set in the same step, so every record.lua after this
-- one (a spool replay, a retry, another node, a late hit) stores
-- nothing per-person of the contact.  A second call finds nothing and
-- returns {0, 0}.

local contact = ARGV[1]
redis.call('SADD', KEYS[6], ARGV[2])
local removed, rewrite = 0, {}
for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local text = ''
  for i = 1, #e[2], 2 do
    if e[2][i] == 'e' then text = e[2][i + 1] end
  end
  local kept, n = {}, 0
  for line in string.gmatch(text, '[^\n]+') do
    if string.match(line, '^%d+ %a (%d+) ') == contact then
      removed = removed + 1
      kept[#kept + 1] = '-'
    else
      if line ~= '-' then n = n + 1 end
      kept[#kept + 1] = line
    end
  end
  rewrite[#rewrite + 1] = { e[1], n, table.concat(kept, '\n') }
end
if removed > 0 then
  redis.call('DEL', KEYS[1])
  for _, r in ipairs(rewrite) do
    if r[2] > 0 then
      redis.call('XADD', KEYS[1], r[1], 'n', r[2], 'e', r[3] .. '\n')
    end
  end
end
local members = redis.call('SREM', KEYS[2], contact) +
    redis.call('SREM', KEYS[3], contact) +
    redis.call('SREM', KEYS[4], contact)
local cursor = '0'
repeat
  local r = redis.call('SSCAN', KEYS[5], cursor, 'MATCH', '*:' .. contact,
      'COUNT', 1000)
  cursor = r[1]
  for _, m in ipairs(r[2]) do
    members = members + redis.call('SREM', KEYS[5], m)
  end
until cursor == '0'
return { removed, members }
