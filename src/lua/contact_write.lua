-- contact_write.lua: stores rows of a contact upsert (store_contact.c,
-- POST /v1/contacts, imports and PATCH; up to 64 rows a call,
-- pipelined).
--
-- KEYS (one hash tag {t:T}):
--   1 ct:bykey  2 suppressed, then one contact hash ({t:T}:ct:ID) a row
-- ARGV: 1 nhash: keyed hashes of an email key, one per key of the token
--   ring; then per row: "new" (the id was just reserved) or "old" (the
--   address was found in ct:bykey), the email key, the contact id,
--   nhash hashes of the email key, the number of field and value
--   arguments that follow, and those (for the contact hash).
-- Returns, per row: 1 when stored, 0 when an "old" contact is gone
-- (erased or deleted since the upsert read ct:bykey): nothing written.
--
-- Guarantees: an erasure between the upsert's reads and its writes
-- cannot be undone by them: an old contact that is gone is not
-- recreated (with its address in clear, off every index), and a new
-- one whose address's keyed hash is suppressed by then is stored
-- suppressed (never mailed), checked atomically here.

local nhash = tonumber(ARGV[1])
local out, i = {}, 2
for r = 3, #KEYS do
  local mode, key, id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local suppressed = false
  for h = i + 3, i + 2 + nhash do
    if redis.call('SISMEMBER', KEYS[2], ARGV[h]) == 1 then
      suppressed = true
    end
  end
  i = i + 3 + nhash
  local nf = tonumber(ARGV[i])
  if mode == 'old' and redis.call('EXISTS', KEYS[r]) == 0 then
    out[#out + 1] = 0
  else
    redis.call('HSET', KEYS[r], unpack(ARGV, i + 1, i + nf))
    if suppressed then redis.call('HSET', KEYS[r], 'suppressed', '1') end
    if mode == 'new' then redis.call('HSET', KEYS[1], key, id) end
    out[#out + 1] = 1
  end
  i = i + nf + 1
end
return out
