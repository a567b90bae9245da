#!lua
-- webhook_outcome.lua: what one delivery attempt to a webhook endpoint
-- leaves (webhook_deliver.c, store_webhook.c): the endpoint's cursor,
-- its state and its delivery log line, in one step.
--
-- KEYS (one hash tag {t:T}):
--   1 webhooks (hash: endpoint id -> its configuration)
--   2 wh:ID:state (hash)  3 wh:ID:log (stream)
-- ARGV: 1 the endpoint id  2 the cursor to move to, or "" (a failed
--   attempt: it stays)  3 the delivery log line (JSON), or ""
--   4 the log's length bound (MAXLEN ~)  5 the oldest log entry id kept
--   (MINID ~: the tenant's retention), or "" (none)  6 the delivery id
--   7.. the state's field, value pairs
-- Returns 1 when written, 0 when the endpoint is gone (nothing written).
--
-- Guarantees: an endpoint deleted (or its tenant purged) while its
-- request was out gets no key back; the cursor, the state and the log
-- line move together or not at all, so the log never says "delivered"
-- for a batch the cursor has not passed.  The log has one line per
-- delivery: an attempt at the delivery the last line is about (the
-- state's delivery and log_entry) replaces that line, so its attempts
-- and status are the latest.

if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local prev = redis.call('HMGET', KEYS[2], 'delivery', 'log_entry')
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 'cursor', ARGV[2]) end
if #ARGV > 6 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 7))
end
if ARGV[3] ~= '' then
  if prev[1] == ARGV[6] and prev[2] then
    redis.call('XDEL', KEYS[3], prev[2])
  end
  local e = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*',
    'd', ARGV[3])
  redis.call('HSET', KEYS[2], 'log_entry', e)
  if ARGV[5] ~= '' then
    redis.call('XTRIM', KEYS[3], 'MINID', '~', ARGV[5])
  end
end
return 1
