#!lua
-- event_add.lua: appends events to a tenant's event log {t:T}:events
-- (store_event.c: the event pump's copies of a campaign's tracking
-- records, and any producer's single event).
--
-- KEYS (one hash tag {t:T}):
--   1 events (stream)  2 events:pumped (hash: campaign -> last entry)
--   3 tenant ({t:T}:tenant)
--   4 .. 3+n: the contact hash ({t:T}:ct:ID) of each event, in order
--   (for an event with no contact, any key of the tag: not read)
-- ARGV: 1 campaign id of the pump's mark, or ""  2 the mark: the entry
--   id of {t:T:c:C}:events the events come from (the last one), or ""
--   3 n, then n times: id, contact id or "", campaign id or "", type,
--   the partial JSON object (event.c's event_json: no "id", no "email");
--   then, for the pump's step (n 0), the first entry of the campaign's
--   stream it covers, its record count and (optional) its entry count:
--   a reference entry (r the campaign, a and b the first and last
--   entry, n and m the counts) is added when the record count is not 0,
--   and the mark moves in any case.
-- Returns the number of entries added; 0 when the mark says these
-- were added already, or when the tenant is gone.
--
-- Guarantees: a pump's batch is added at most once (the mark moves in
-- the same script), so a batch copied again after a kill -9, a lost
-- reply or by another node adds nothing.  An event about a contact is
-- added only while the contact exists, with the address it has now:
-- an erased contact (its hash gone) gets no event, whatever comes late.
-- The entry's e is the event's text as delivered: the id and the email
-- put in front of the partial object.  Nothing is written for a tenant
-- whose record is gone (a purge removes it first), so a late copy
-- never recreates a purged tenant's keys.

local function newer(a, b)
  if not b then return true end
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not bm then return true end
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end

if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local camp, mark = ARGV[1], ARGV[2]
if camp ~= '' then
  if not newer(mark, redis.call('HGET', KEYS[2], camp)) then return 0 end
end
local n, added = tonumber(ARGV[3]), 0
-- The pump's calls carry many events of few contacts: each address is
-- read once a call.
local emails = {}
for j = 1, n do
  local a = 4 + (j - 1) * 5
  local id, contact, camp_id, ty, partial = ARGV[a], ARGV[a + 1],
    ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local email = nil
  local keep = true
  if contact ~= '' then
    email = emails[KEYS[3 + j]]
    if email == nil then
      email = redis.call('HGET', KEYS[3 + j], 'email')
      emails[KEYS[3 + j]] = email
    end
    keep = email ~= false and email ~= nil
  end
  if keep then
    local text = '{"id":' .. cjson.encode(id) .. ',"email":' ..
      (email and cjson.encode(email) or 'null') .. ',' ..
      string.sub(partial, 2)
    redis.call('XADD', KEYS[1], '*', 'e', text, 'ty', ty, 'c', contact,
      'ca', camp_id)
    added = added + 1
  end
end
local first, nrec, nent = ARGV[4 + n * 5], ARGV[5 + n * 5], ARGV[6 + n * 5]
if camp ~= '' and first and tonumber(nrec) > 0 then
  if nent then
    redis.call('XADD', KEYS[1], '*', 'r', camp, 'a', first, 'b', mark,
      'n', nrec, 'm', nent)
  else
    redis.call('XADD', KEYS[1], '*', 'r', camp, 'a', first, 'b', mark,
      'n', nrec)
  end
  added = added + 1
end
if camp ~= '' then redis.call('HSET', KEYS[2], camp, mark) end
return added
