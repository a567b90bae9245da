-- contact_write.lua: stores one row of a contact upsert (store_contact.c,
-- POST /v1/contacts and imports, pipelined, one call per row).
--
-- KEYS (one hash tag {t:T}):
--   1 contact hash ({t:T}:ct:ID)  2 ct:bykey  3 suppressed
-- ARGV: 1 "new" (the id was just reserved) or "old" (the address was
--   found in ct:bykey)  2 email key  3 contact id  4 nhash: keyed hashes
--   of the email key below, one per key of the token ring, then those
--   hashes, then the fields: field value pairs for the contact hash.
-- Returns 1 when stored, 0 when an "old" contact is gone (erased or
-- deleted since the upsert read ct:bykey): nothing written.
--
-- Guarantees: an erasure between the upsert's reads and its writes
-- cannot be undone by them: an old contact that is gone is not
-- recreated (with its address in clear, off every index), and a new
-- one whose address's keyed hash is suppressed by then is stored
-- suppressed (never mailed), checked atomically here.

if ARGV[1] == 'old' and redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local nhash = tonumber(ARGV[4])
local suppressed = false
for i = 5, 4 + nhash do
  if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 1 then
    suppressed = true
  end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5 + nhash))
if suppressed then redis.call('HSET', KEYS[1], 'suppressed', '1') end
if ARGV[1] == 'new' then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
return 1
