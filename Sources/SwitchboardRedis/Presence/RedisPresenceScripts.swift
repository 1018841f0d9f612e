import RESP

/// Presence in Redis, per node (`P` is the prefix, `n` a node):
/// - `P:users:n` hash user → that node's sockets of the user;
/// - `P:viewing:n:c` hash user → that node's sockets of the user viewing conversation c,
///   and `P:convs:n` the set of such c;
/// - `P:alive:n` exists while the node's share is in place (the reaper deletes it);
/// - `P:names` user → name, `P:chosen` user → the status the user chose (any node).
/// A user is connected while any registered node (`KEYS[1]`, the node registry) has them;
/// the viewers of a conversation are the union over the nodes. A node writes its share
/// as absolute counts (from its own ``PresenceState``), so writing again is harmless and
/// a node whose share was lost simply writes all of it again.
enum RedisPresenceScripts {
    /// Helpers every script starts with.
    private static let helpers = """
        local p = ARGV[1]
        local function nodes() return redis.call('ZRANGE', KEYS[1], 0, -1) end
        local function connected(user)
          for _, n in ipairs(nodes()) do
            if redis.call('HEXISTS', p .. ':users:' .. n, user) == 1 then return true end
          end
          return false
        end
        local function status(user)
          if not connected(user) then return 'offline' end
          return redis.call('HGET', p .. ':chosen', user) or 'online'
        end
        local function viewers(conv)
          local out = {}
          for _, n in ipairs(nodes()) do
            for _, user in ipairs(redis.call('HKEYS', p .. ':viewing:' .. n .. ':' .. conv)) do
              out[user] = redis.call('HGET', p .. ':names', user) or user
            end
          end
          return out
        end
        local function flat(map)
          local out = {}
          for user, name in pairs(map) do table.insert(out, user); table.insert(out, name) end
          return out
        end
        local function same(a, b)
          for k, v in pairs(a) do if b[k] ~= v then return false end end
          for k, v in pairs(b) do if a[k] ~= v then return false end end
          return true
        end
        local function forgetIfGone(user)
          if not connected(user) then redis.call('HDEL', p .. ':chosen', user) end
        end

        """

    /// Sets this node's socket count of one user (0 removes it), its name, and optionally
    /// the status they chose. ARGV: prefix, node, now (ms), user, name (empty: keep),
    /// sockets, chosen status (empty: keep). Returns: whether the node's share was in
    /// place, the user's status before and after, their name.
    static let setUser = RedisScript(
        helpers + """
            local n, user, name, count, chosen = ARGV[2], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
            local alive = redis.call('EXISTS', p .. ':alive:' .. n)
            redis.call('ZADD', KEYS[1], ARGV[3], n)
            local before = status(user)
            if count > 0 then
              redis.call('HSET', p .. ':users:' .. n, user, count)
            else
              redis.call('HDEL', p .. ':users:' .. n, user)
            end
            if name ~= '' then redis.call('HSET', p .. ':names', user, name) end
            if chosen ~= '' and count > 0 then redis.call('HSET', p .. ':chosen', user, chosen) end
            forgetIfGone(user)
            return {alive, before, status(user), redis.call('HGET', p .. ':names', user) or user}
            """
    )

    /// Sets this node's count of one user's sockets viewing one conversation. ARGV:
    /// prefix, node, now (ms), conversation, user, sockets. Returns: whether the node's
    /// share was in place, whether the viewers changed, the viewers after (user, name…).
    static let setViewing = RedisScript(
        helpers + """
            local n, conv, user, count = ARGV[2], ARGV[4], ARGV[5], tonumber(ARGV[6])
            local alive = redis.call('EXISTS', p .. ':alive:' .. n)
            redis.call('ZADD', KEYS[1], ARGV[3], n)
            local before = viewers(conv)
            if count > 0 then
              redis.call('HSET', p .. ':viewing:' .. n .. ':' .. conv, user, count)
              redis.call('SADD', p .. ':convs:' .. n, conv)
            else
              redis.call('HDEL', p .. ':viewing:' .. n .. ':' .. conv, user)
            end
            local after = viewers(conv)
            return {alive, same(before, after) and 0 or 1, flat(after)}
            """
    )

    /// The viewers of a conversation (user, name…). ARGV: prefix, conversation.
    static let viewersOf = RedisScript(
        helpers + """
            return flat(viewers(ARGV[2]))
            """
    )

    /// Every connected user (user, name, status…). ARGV: prefix.
    static let snapshot = RedisScript(
        helpers + """
            local out, seen = {}, {}
            for _, n in ipairs(nodes()) do
              for _, user in ipairs(redis.call('HKEYS', p .. ':users:' .. n)) do
                if not seen[user] then
                  seen[user] = true
                  table.insert(out, user)
                  table.insert(out, redis.call('HGET', p .. ':names', user) or user)
                  table.insert(out, redis.call('HGET', p .. ':chosen', user) or 'online')
                end
              end
            end
            return out
            """
    )

    /// Replaces one node's whole share (`remove`: takes it away, for a node that died or
    /// left) and returns what changed for everyone, as JSON: `{"users": {user: [name,
    /// status]}, "viewers": {conversation: {user: name}}}`. ARGV: prefix, node, now (ms),
    /// the share as JSON `{"users": {user: [name, sockets]}, "viewing": {conversation:
    /// {user: sockets}}, "chosen": {user: status}}` or empty to remove, and for a removal
    /// the heartbeat deadline (a node that beat since then is left alone).
    static let replaceShare = RedisScript(
        helpers + """
            local n = ARGV[2]
            local share = ARGV[4] ~= '' and cjson.decode(ARGV[4]) or nil
            if not share then
              local score = redis.call('ZSCORE', KEYS[1], n)
              if not score or tonumber(score) >= tonumber(ARGV[5]) then return '' end
            end
            local users, convs = {}, {}
            for _, user in ipairs(redis.call('HKEYS', p .. ':users:' .. n)) do users[user] = true end
            for _, conv in ipairs(redis.call('SMEMBERS', p .. ':convs:' .. n)) do convs[conv] = true end
            if share then
              for user, _ in pairs(share.users) do users[user] = true end
              for conv, _ in pairs(share.viewing) do convs[conv] = true end
            end
            local statusBefore, viewersBefore = {}, {}
            for user, _ in pairs(users) do statusBefore[user] = status(user) end
            for conv, _ in pairs(convs) do viewersBefore[conv] = viewers(conv) end
            redis.call('DEL', p .. ':users:' .. n, p .. ':convs:' .. n, p .. ':alive:' .. n)
            for conv, _ in pairs(convs) do redis.call('DEL', p .. ':viewing:' .. n .. ':' .. conv) end
            if share then
              redis.call('ZADD', KEYS[1], ARGV[3], n)
              redis.call('SET', p .. ':alive:' .. n, '1')
              for user, entry in pairs(share.users) do
                redis.call('HSET', p .. ':users:' .. n, user, entry[2])
                redis.call('HSET', p .. ':names', user, entry[1])
              end
              for user, chosen in pairs(share.chosen) do redis.call('HSETNX', p .. ':chosen', user, chosen) end
              for conv, counts in pairs(share.viewing) do
                redis.call('SADD', p .. ':convs:' .. n, conv)
                for user, count in pairs(counts) do redis.call('HSET', p .. ':viewing:' .. n .. ':' .. conv, user, count) end
              end
            else
              redis.call('ZREM', KEYS[1], n)
            end
            local changes = {users = {}, viewers = {}}
            for user, _ in pairs(users) do
              forgetIfGone(user)
              local after = status(user)
              if after ~= statusBefore[user] then
                changes.users[user] = {redis.call('HGET', p .. ':names', user) or user, after}
              end
            end
            for conv, _ in pairs(convs) do
              local after = viewers(conv)
              if not same(viewersBefore[conv], after) then changes.viewers[conv] = after end
            end
            return cjson.encode(changes)
            """
    )
}
