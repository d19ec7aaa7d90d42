/// The Redis Functions library every Relay loads at start and after every reconnect (`FUNCTION
/// LOAD REPLACE`, so a Redis that restarted empty gets it back). Each function touches the keys
/// of one channel (or one user), which share a hash tag and therefore a cluster slot, and runs
/// atomically: a publication's offset, its history entry, its idempotency record, its inbox
/// entry and its PUBLISH happen together or not at all. The key layout and the envelopes are the
/// contract in docs/REDIS.md; the library's name carries its version.
enum RelayFunctions {
    static let library = "relay_v1"

    static let source = #"""
#!lua name=relay_v1

-- Milliseconds on Redis's clock: every replica reads the same time.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The channel's epoch, made when its meta hash is missing (new, expired or evicted). A new epoch
-- also drops any history left over, whose offsets belong to the lost epoch.
local function ensure_meta(meta, history, meta_ttl)
  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    local t = redis.call('TIME')
    epoch = string.format('%x%05x', tonumber(t[1]), tonumber(t[2]))
    redis.call('HSET', meta, 'epoch', epoch, 'offset', 0)
    redis.call('DEL', history)
    if meta_ttl > 0 then redis.call('PEXPIRE', meta, meta_ttl) end
  elseif meta_ttl > 0 then
    -- Only ever extended: a read with a shorter TTL must not shorten a channel's life.
    redis.call('PEXPIRE', meta, meta_ttl, 'GT')
  end
  return epoch
end

-- The kept history entries after `first` (inclusive), oldest first, skipping none: nil when one
-- is missing or older than the history TTL.
local function kept_since(history, first, last, ttl, now)
  if first > last then return {} end
  local entries = redis.call('XRANGE', history, first .. '-0', last .. '-0')
  if #entries ~= last - first + 1 then return nil end
  if entries[1][1] ~= first .. '-0' then return nil end
  local out = {}
  for i, entry in ipairs(entries) do
    local fields = entry[2]
    if ttl > 0 and tonumber(fields[4]) + ttl <= now then return nil end
    out[i] = fields[2]
  end
  return out
end

-- relay_publish: KEYS meta, history, idempotency, and inbox (not in a cluster: relay_inbox_add).
-- ARGV pubsub channel, data (JSON), user ('' for the server), history size, history ttl ms,
-- idempotency window ms, inbox max entries (0: no inbox), publish command, channel name,
-- meta ttl ms.
-- Returns {offset, epoch, duplicate (0 or 1)}; an error INBOXFULL when the inbox is full.
local function relay_publish(keys, args)
  local meta, history, idem, inbox = keys[1], keys[2], keys[3], keys[4]
  local pubsub, data, user = args[1], args[2], args[3]
  local size, ttl, window, inbox_max = tonumber(args[4]), tonumber(args[5]), tonumber(args[6]), tonumber(args[7])
  local command, name, meta_ttl = args[8], args[9], tonumber(args[10])
  if window > 0 then
    local seen = redis.call('GET', idem)
    if seen then
      local offset, epoch = string.match(seen, '^(%d+) (.*)$')
      return {tonumber(offset), epoch, 1}
    end
  end
  if not pcall(cjson.decode, data) then
    return redis.error_reply('BADDATA data must be JSON')
  end
  if inbox_max > 0 and redis.call('XLEN', inbox) >= inbox_max then
    return redis.error_reply('INBOXFULL the inbox is full')
  end
  local epoch = ensure_meta(meta, history, meta_ttl)
  local offset = redis.call('HINCRBY', meta, 'offset', 1)
  local now = now_ms()
  local envelope = '{"v":1,"type":"pub","epoch":' .. cjson.encode(epoch) .. ',"offset":' .. offset
  if user ~= '' then envelope = envelope .. ',"user":' .. cjson.encode(user) end
  envelope = envelope .. ',"data":' .. data .. '}'
  if size > 0 then
    redis.call('XADD', history, 'MAXLEN', size, offset .. '-0', 'e', envelope, 't', now)
    if ttl > 0 then redis.call('PEXPIRE', history, ttl) end
  end
  if window > 0 then redis.call('SET', idem, offset .. ' ' .. epoch, 'PX', window) end
  if inbox_max > 0 then
    redis.call('XADD', inbox, '*', 'channel', name, 'offset', offset, 'epoch', epoch,
               'user', user, 'data', data, 'time', now)
  end
  redis.call(command, pubsub, envelope)
  return {offset, epoch, 0}
end

-- relay_inbox_add: KEYS inbox. ARGV inbox max entries, channel, offset, epoch, user, data. In a
-- cluster, where the inbox is not in the channel's slot, the inbox entry of a publication
-- relay_publish made. Returns the entry id; an error INBOXFULL when the inbox is full.
local function relay_inbox_add(keys, args)
  if redis.call('XLEN', keys[1]) >= tonumber(args[1]) then
    return redis.error_reply('INBOXFULL the inbox is full')
  end
  return redis.call('XADD', keys[1], '*', 'channel', args[2], 'offset', args[3], 'epoch', args[4],
                    'user', args[5], 'data', args[6], 'time', now_ms())
end

-- relay_position: KEYS meta, history. ARGV since offset ('' for none), since epoch, meta ttl ms,
-- history ttl ms. Returns {offset, epoch, recovered (0 or 1), envelopes after since...}.
local function relay_position(keys, args)
  local meta, history = keys[1], keys[2]
  local epoch = ensure_meta(meta, history, tonumber(args[3]))
  local top = tonumber(redis.call('HGET', meta, 'offset'))
  if args[1] == '' or args[2] ~= epoch then return {top, epoch, 0} end
  local since = tonumber(args[1])
  if since == nil or since > top then return {top, epoch, 0} end
  local missed = kept_since(history, since + 1, top, tonumber(args[4]), now_ms())
  if missed == nil then return {top, epoch, 0} end
  local reply = {top, epoch, 1}
  for _, envelope in ipairs(missed) do reply[#reply + 1] = envelope end
  return reply
end

-- relay_history: KEYS meta, history. ARGV limit, before ('' for none), meta ttl ms, history ttl
-- ms. Returns {offset, epoch, envelopes oldest first...}.
local function relay_history(keys, args)
  local meta, history = keys[1], keys[2]
  local epoch = ensure_meta(meta, history, tonumber(args[3]))
  local top = tonumber(redis.call('HGET', meta, 'offset'))
  local limit, ttl, now = tonumber(args[1]), tonumber(args[4]), now_ms()
  local last = '+'
  if args[2] ~= '' then
    local before = tonumber(args[2])
    if before <= 1 then return {top, epoch} end
    if before <= top then last = (before - 1) .. '-0' end
  end
  local entries = redis.call('XREVRANGE', history, last, '-', 'COUNT', limit)
  local reply = {top, epoch}
  for i = #entries, 1, -1 do
    local fields = entries[i][2]
    if ttl <= 0 or tonumber(fields[4]) + ttl > now then reply[#reply + 1] = fields[2] end
  end
  return reply
end

-- What a call changed that the API's events stream reports (users joining or leaving a
-- channel, going online or offline, connections found expired): returned to Relay, which
-- appends them to `relay:events`, a key of another slot in a cluster. Reset by each call.
local transitions = {}

local function note(kind, user, client, reason)
  transitions[#transitions + 1] = {kind, user, client, reason or ''}
end

local function with_transitions(result)
  local reply = {result, transitions}
  transitions = {}
  return reply
end

-- Presence of a channel: KEYS members (hash member -> {"user","info"}), expiry (zset member ->
-- ms), users (hash user -> connections). A member is "<node>/<connection>".

local function announce(command, pubsub, envelope)
  if pubsub ~= '' then redis.call(command, pubsub, envelope) end
end

local function remove_member(keys, member, command, pubsub, reason)
  local json = redis.call('HGET', keys[1], member)
  if not json then return false end
  redis.call('HDEL', keys[1], member)
  redis.call('ZREM', keys[2], member)
  local user = cjson.decode(json).user
  if redis.call('HINCRBY', keys[3], user, -1) <= 0 then
    redis.call('HDEL', keys[3], user)
    announce(command, pubsub, '{"v":1,"type":"leave","user":' .. cjson.encode(user) .. '}')
    note('leave', user, member, reason)
  end
  return true
end

-- Members whose replica stopped refreshing them leave (and are announced, once).
local function purge_members(keys, command, pubsub, now)
  local expired = redis.call('ZRANGEBYSCORE', keys[2], '-inf', now)
  for _, member in ipairs(expired) do remove_member(keys, member, command, pubsub, 'expired') end
end

local function add_member(keys, member, user, info, expires, command, pubsub)
  if redis.call('ZADD', keys[2], expires, member) == 0 then return 0 end
  local json = '{"user":' .. cjson.encode(user)
  if info ~= '' then json = json .. ',"info":' .. info end
  redis.call('HSET', keys[1], member, json .. '}')
  if redis.call('HINCRBY', keys[3], user, 1) == 1 then
    -- The member lets its own connection skip its join.
    local join = '{"v":1,"type":"join","member":' .. cjson.encode(member) .. ',"user":' .. cjson.encode(user)
    if info ~= '' then join = join .. ',"info":' .. info end
    announce(command, pubsub, join .. '}')
    note('join', user, member)
  end
  return 1
end

-- The keys outlive a dead node's members until a survivor reaps it (up to about 5/3 of the TTL
-- plus a few seconds): the reaping is what announces their leaves.
local function keep_keys(keys, ttl)
  for i = 1, 3 do redis.call('PEXPIRE', keys[i], ttl * 3 + 10000) end
end

-- relay_join: ARGV member, user, info ('' for none), ttl ms, publish command, pubsub channel for
-- join/leave ('' when the namespace does not announce them). Returns {added, transitions}.
local function relay_join(keys, args)
  transitions = {}
  local now, ttl = now_ms(), tonumber(args[4])
  purge_members(keys, args[5], args[6], now)
  local added = add_member(keys, args[1], args[2], args[3], now + ttl, args[5], args[6])
  keep_keys(keys, ttl)
  return with_transitions(added)
end

-- relay_leave: ARGV member, publish command, pubsub channel ('' for none), reason. Returns
-- {removed, transitions}.
local function relay_leave(keys, args)
  transitions = {}
  purge_members(keys, args[2], args[3], now_ms())
  local removed = 0
  if remove_member(keys, args[1], args[2], args[3], args[4]) then removed = 1 end
  return with_transitions(removed)
end

-- relay_presence_refresh: ARGV ttl ms, publish command, pubsub ('' for none), then triples of
-- member, user, info. Extends the members' expiry, and adds back any that were lost (a Redis
-- restarted empty), announcing them like a join. Returns {1, transitions}.
local function relay_presence_refresh(keys, args)
  transitions = {}
  local now, ttl = now_ms(), tonumber(args[1])
  purge_members(keys, args[2], args[3], now)
  for i = 4, #args, 3 do
    -- add_member's ZADD also extends a member that is still there.
    add_member(keys, args[i], args[i + 1], args[i + 2], now + ttl, args[2], args[3])
  end
  keep_keys(keys, ttl)
  return with_transitions(1)
end

-- relay_presence_purge: ARGV publish command, pubsub ('' for none). Removes the expired
-- members, announcing their leaves. Returns {1, transitions}.
local function relay_presence_purge(keys, args)
  transitions = {}
  purge_members(keys, args[1], args[2], now_ms())
  return with_transitions(1)
end

-- relay_presence (the API's and Relay's presence reads): the members' JSON, without the expired
-- ones, which the next refresh or reaping removes and announces. Read-only.
local function relay_presence(keys, args)
  local live = redis.call('ZRANGEBYSCORE', keys[2], '(' .. now_ms(), '+inf')
  local out = {}
  -- In chunks: Lua's unpack has a limit of a few thousand values.
  for first = 1, #live, 1000 do
    local members = redis.call('HMGET', keys[1], unpack(live, first, math.min(first + 999, #live)))
    for _, json in ipairs(members) do
      if json then out[#out + 1] = json end
    end
  end
  return out
end

-- A user's connections: KEYS connections (zset member -> expiry ms). ARGV always starts with
-- the publish command, the user's status pubsub channel and the user.

local function status(args, online)
  local word = 'false'
  if online then word = 'true' end
  redis.call(args[1], args[2], '{"v":1,"type":"status","online":' .. word .. '}')
end

-- Expired connections go; the user's going offline through them is announced.
local function purge_connections(key, args, now)
  local expired = redis.call('ZRANGEBYSCORE', key, '-inf', now)
  if #expired == 0 then return end
  for _, member in ipairs(expired) do note('disconnect', args[3], member, 'expired') end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) == 0 then
    status(args, false)
    note('offline', args[3], '')
  end
end

-- relay_connect: ARGV command, status pubsub, user, member, ttl ms. Returns {the user's
-- connections, transitions}.
local function relay_connect(keys, args)
  transitions = {}
  local now, ttl = now_ms(), tonumber(args[5])
  purge_connections(keys[1], args, now)
  local before = redis.call('ZCARD', keys[1])
  redis.call('ZADD', keys[1], now + ttl, args[4])
  redis.call('PEXPIRE', keys[1], ttl * 3 + 10000)
  if before == 0 then
    status(args, true)
    note('online', args[3], args[4])
  end
  return with_transitions(redis.call('ZCARD', keys[1]))
end

-- relay_disconnect: ARGV command, status pubsub, user, member. Returns {1, transitions}.
local function relay_disconnect(keys, args)
  transitions = {}
  purge_connections(keys[1], args, now_ms())
  if redis.call('ZREM', keys[1], args[4]) == 1 and redis.call('ZCARD', keys[1]) == 0 then
    status(args, false)
    note('offline', args[3], args[4])
  end
  return with_transitions(1)
end

-- relay_connections_refresh: ARGV command, status pubsub, user, ttl ms, members... Returns
-- {1, transitions}.
local function relay_connections_refresh(keys, args)
  transitions = {}
  local now, ttl = now_ms(), tonumber(args[4])
  purge_connections(keys[1], args, now)
  local before = redis.call('ZCARD', keys[1])
  for i = 5, #args do redis.call('ZADD', keys[1], now + ttl, args[i]) end
  redis.call('PEXPIRE', keys[1], ttl * 3 + 10000)
  if before == 0 and #args >= 5 then
    status(args, true)
    note('online', args[3], args[5])
  end
  return with_transitions(1)
end

-- relay_connections_purge: ARGV command, status pubsub, user. Removes the expired connections,
-- announcing the user offline if they were the last. Returns {1, transitions}.
local function relay_connections_purge(keys, args)
  transitions = {}
  purge_connections(keys[1], args, now_ms())
  return with_transitions(1)
end

-- relay_online (the API's and Relay's online reads): the user's live connections. Read-only.
local function relay_online(keys, args)
  return redis.call('ZCOUNT', keys[1], '(' .. now_ms(), '+inf')
end

-- relay_throttle: KEYS the throttle key. ARGV interval ms (0: clear). Returns 1 when a frame
-- may go now.
local function relay_throttle(keys, args)
  local interval = tonumber(args[1])
  if interval <= 0 then
    redis.call('DEL', keys[1])
    return 1
  end
  if redis.call('SET', keys[1], '1', 'NX', 'PX', interval) then return 1 end
  return 0
end

-- The inbox as Relay's server API reads it: KEYS the inbox stream and its leases (zset id ->
-- lease end ms). Entries whose lease ran out come first, then new ones; each is leased to the
-- reader for its lease.

-- relay_inbox_read: ARGV group, consumer, limit, lease ms. Returns [[id, fields], ...].
local function relay_inbox_read(keys, args)
  local group, consumer, limit, lease = args[1], args[2], tonumber(args[3]), tonumber(args[4])
  local now = now_ms()
  local out = {}
  -- The group exists from the first read on, whatever happened to the stream (BUSYGROUP ignored).
  redis.pcall('XGROUP', 'CREATE', keys[1], group, '0', 'MKSTREAM')
  local expired = redis.call('ZRANGEBYSCORE', keys[2], '-inf', now, 'LIMIT', 0, limit)
  if #expired > 0 then
    local claimed = redis.call('XCLAIM', keys[1], group, consumer, 0, unpack(expired))
    for _, entry in ipairs(claimed) do out[#out + 1] = entry end
    redis.call('ZREM', keys[2], unpack(expired))
  end
  if #out < limit then
    local fresh = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', limit - #out, 'STREAMS', keys[1], '>')
    if fresh then
      for _, entry in ipairs(fresh[1][2]) do out[#out + 1] = entry end
    end
  end
  for _, entry in ipairs(out) do redis.call('ZADD', keys[2], now + lease, entry[1]) end
  return out
end

-- relay_inbox_ack: ARGV group, ids... Returns how many entries were still there.
local function relay_inbox_ack(keys, args)
  local removed = 0
  -- In chunks: Lua's unpack has a limit of a few thousand values.
  for first = 2, #args, 1000 do
    local ids = {}
    for i = first, math.min(first + 999, #args) do ids[#ids + 1] = args[i] end
    redis.call('XACK', keys[1], args[1], unpack(ids))
    redis.call('ZREM', keys[2], unpack(ids))
    removed = removed + redis.call('XDEL', keys[1], unpack(ids))
  end
  return removed
end

redis.register_function('relay_inbox_read', relay_inbox_read)
redis.register_function('relay_inbox_ack', relay_inbox_ack)
redis.register_function('relay_publish', relay_publish)
redis.register_function('relay_inbox_add', relay_inbox_add)
redis.register_function('relay_position', relay_position)
redis.register_function('relay_history', relay_history)
redis.register_function('relay_join', relay_join)
redis.register_function('relay_leave', relay_leave)
redis.register_function('relay_presence_refresh', relay_presence_refresh)
redis.register_function{function_name = 'relay_presence', callback = relay_presence, flags = {'no-writes'}}
redis.register_function('relay_presence_purge', relay_presence_purge)
redis.register_function('relay_connect', relay_connect)
redis.register_function('relay_disconnect', relay_disconnect)
redis.register_function('relay_connections_refresh', relay_connections_refresh)
redis.register_function{function_name = 'relay_online', callback = relay_online, flags = {'no-writes'}}
redis.register_function('relay_connections_purge', relay_connections_purge)
redis.register_function('relay_throttle', relay_throttle)
"""#
}
