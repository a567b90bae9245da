#!lua
-- user_index.lua: compare-and-set of one entry of the login index
-- (store_user.c), so a stale claim is taken over, or an entry removed,
-- only when it still says what the caller read.
--
-- KEYS (one hash tag {users}): 1 the index ({users}:byemail)
-- ARGV: 1 email (lower case)  2 the entry expected ("" for none)
--   3 the new entry ("" to remove it)
-- Returns 1 when done, 0 when the entry was not the one expected.
--
-- Guarantees: an entry changes only from the value the caller read, so
-- two creators racing for a stale claim cannot both win, and a delete
-- never removes the entry of a user created since.

local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 1
