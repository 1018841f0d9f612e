import RESP

/// The queue's Lua scripts: each step that touches several keys is one atomic call (run
/// with EVALSHA, EVAL only when the server does not know the script yet).
enum RedisQueueScripts {
    /// Hands runs over: `XADD`s each run whose first job the entries hash does not know
    /// yet (one entry per run) and records the entry id of each of its jobs. KEYS: stream,
    /// entries. ARGV: per run, the number of jobs n, the n job ids, the entry's text
    /// (``StreamRun/arguments(_:)``). Returns how many jobs were added.
    static let handOver = RedisScript(
        """
        local added = 0
        local i = 1
        while i <= #ARGV do
          local n = tonumber(ARGV[i])
          if redis.call('HEXISTS', KEYS[2], ARGV[i + 1]) == 0 then
            local id = redis.call('XADD', KEYS[1], '*', 'jobs', ARGV[i + n + 1])
            for k = 1, n do redis.call('HSET', KEYS[2], ARGV[i + k], id) end
            added = added + n
          end
          i = i + n + 2
        end
        return added
        """
    )

    /// Settles finished jobs and closed entries: forgets each job (unless a newer entry
    /// of it replaced this one), then `XACK`s and `XDEL`s each entry whose jobs are all
    /// settled. KEYS: stream, entries. ARGV: group, the number of (job id, entry id) pairs,
    /// the pairs, then the entry ids to close.
    static let acknowledge = RedisScript(
        """
        local n = tonumber(ARGV[2])
        for i = 3, 2 + 2 * n, 2 do
          if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
            redis.call('HDEL', KEYS[2], ARGV[i])
          end
        end
        for i = 3 + 2 * n, #ARGV do
          redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
          redis.call('XDEL', KEYS[1], ARGV[i])
        end
        return n
        """
    )

    /// Keeps this consumer's deliveries alive: resets the idle time of each entry still
    /// pending for it. KEYS: stream. ARGV: group, consumer, entry ids. Returns the entry
    /// ids another consumer took over (one no longer pending was acknowledged meanwhile and
    /// is not among them).
    static let touch = RedisScript(
        """
        local lost = {}
        for i = 3, #ARGV do
          local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
          if pending[1] and pending[1][2] == ARGV[2] then
            redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
          elseif pending[1] then
            table.insert(lost, ARGV[i])
          end
        end
        return lost
        """
    )
}
