#!lua
-- optout.lua: a one-click opt-out (store.c, from an unsubscribe event).
--
-- KEYS (one hash tag {t:T}):
--   1 contact hash ({t:T}:ct:ID)  2 optout_ids  3 optouts  4 optouts:at
-- ARGV: 1 contact id  2 time (ms)
-- Returns 1.
--
-- Guarantees: the contact id is opted out always; its email key too
-- when the contact exists.  ZADD NX and HSETNX: the first time stays,
-- and a replay changes nothing.

redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
local key = redis.call('HGET', KEYS[1], 'key')
if key then
  redis.call('ZADD', KEYS[3], 0, key)
  redis.call('HSETNX', KEYS[4], key, ARGV[2])
end
return 1
