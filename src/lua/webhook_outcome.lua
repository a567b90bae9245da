#!lua
-- webhook_outcome.lua: what one delivery attempt to a webhook endpoint
-- leaves (webhook_deliver.c, store_webhook.c): the endpoint's cursor,
-- its state and a line of its delivery log, in one step.
--
-- KEYS (one hash tag {t:T}):
--   1 webhooks (hash: endpoint id -> its configuration)
--   2 wh:ID:state (hash)  3 wh:ID:log (stream)
-- ARGV: 1 the endpoint id  2 the cursor to move to, or "" (a failed
--   attempt: it stays)  3 the delivery log line (JSON), or ""
--   4 the log's length bound (MAXLEN ~)  5 the oldest log entry id kept
--   (MINID ~: the tenant's retention), or "" (none)
--   6.. the state's field, value pairs
-- Returns 1 when written, 0 when the endpoint is gone (nothing written).
--
-- Guarantees: an endpoint deleted (or its tenant purged) while its
-- request was out gets no key back; the cursor, the state and the log
-- line move together or not at all, so the log never says "delivered"
-- for a batch the cursor has not passed.

if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 'cursor', ARGV[2]) end
if #ARGV > 5 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 6))
end
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'd', ARGV[3])
  if ARGV[5] ~= '' then
    redis.call('XTRIM', KEYS[3], 'MINID', '~', ARGV[5])
  end
end
return 1
