#!lua
-- event_lease.lua: the event pump's lease on a tenant (store_event.c,
-- event_pump.c): which node copies its trackers' records this turn.
--
-- KEYS (one hash tag {t:T}):
--   1 events:lease (string: the node_id)  2 tenant ({t:T}:tenant)
-- ARGV: 1 node_id  2 time to live (ms)
-- Returns 1 when the node holds the lease (taken, or its own renewed),
-- 0 when another node does, or when the tenant is gone.
--
-- Guarantees: one holder at a time, renewed only by itself; a lease
-- not renewed for its time to live passes to the next node that asks
-- (a node killed -9).  Never written for a tenant whose record is gone
-- (a purge removes it first): no key of a purged tenant comes back.

if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
