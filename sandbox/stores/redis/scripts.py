"""The Lua scripts the Redis adapters run: server-side steps that are atomic on their own."""

# One order's hash, index entries and counters in one server-side step: one EVALSHA per order instead
# of six commands. Same keys and values as _queue; redis-py builds and parses each command in Python,
# which is what a batch of 1,000 orders costs (docs/measurement.md, "Benchmarks").
# KEYS: hash, id index, status set, customer index, count hash, cents hash;
# ARGV: created ms, id, status, cents, ttl (0: none), then the hash's field/value pairs.
WRITE_ORDER = """
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[5], ARGV[3], 1)
redis.call('HINCRBY', KEYS[6], ARGV[3], ARGV[4])
if tonumber(ARGV[5]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[5]) end
return 1
"""
# Lua scripts run atomically: nothing else runs on the server between their reads and writes.
# An order moves to a newer version's status with its status sets and per-status counters.
UPDATE_STATUS = """
local cur = redis.call('HMGET', KEYS[1], 'status', 'version', 'total_amount')
if not cur[1] then return 0 end
if tonumber(cur[2] or '1') >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'version', ARGV[2])
local old = cur[1]
if old ~= ARGV[1] then
  local cents = math.floor(tonumber(cur[3]) * 100 + 0.5)
  redis.call('SREM', ARGV[3] .. old, ARGV[4])
  redis.call('SADD', ARGV[3] .. ARGV[1], ARGV[4])
  redis.call('HINCRBY', KEYS[2], old, -1)
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  redis.call('HINCRBY', KEYS[3], old, -cents)
  redis.call('HINCRBY', KEYS[3], ARGV[1], cents)
end
return 1
"""
# All of an order's items or none: check every product's stock, then take it.
TAKE_STOCK = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '-1') < tonumber(ARGV[i]) then return 0 end
end
for i, key in ipairs(KEYS) do redis.call('DECRBY', key, ARGV[i]) end
return 1
"""
