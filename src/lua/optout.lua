#!lua
-- optout.lua: a one-click opt-out (store.c, from an unsubscribe event).
--
-- KEYS (one hash tag {t:T}):
--   1 contact hash ({t:T}:ct:ID)  2 optout_ids  3 optouts  4 optouts:at
--   5 suppressed (keyed hashes of erased addresses and contact ids)
-- ARGV: 1 contact id  2 time (ms)  3.. the contact id's keyed hashes
--   (store_erased_contact_hash), one per key of the token ring
-- Returns 1, or 0 when the contact was erased (nothing written).
--
-- Guarantees: the contact id is opted out always, unless it was erased
-- (an erasure puts its keyed hash in suppressed before removing its
-- data, so a replayed or late opt-out never writes its id back); its
-- email key too when the contact exists.  ZADD NX and HSETNX: the
-- first time stays, and a replay changes nothing.

for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[5], ARGV[i]) == 1 then return 0 end
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
local key = redis.call('HGET', KEYS[1], 'key')
if key then
  redis.call('ZADD', KEYS[3], 0, key)
  redis.call('HSETNX', KEYS[4], key, ARGV[2])
end
return 1
