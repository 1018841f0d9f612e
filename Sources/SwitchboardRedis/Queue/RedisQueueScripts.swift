import RESP

/// The queue's Lua scripts: each step that touches several keys is one atomic call (run
/// with EVALSHA, EVAL only when the server does not know the script yet).
enum RedisQueueScripts {
    /// Hands jobs over: `XADD` each job the entries hash does not know yet and records its
    /// entry id. KEYS: stream, entries. ARGV: groups of `StreamJob.fieldCount` values, the
    /// job id first. Returns how many were added.
    static let handOver = RedisScript(
        """
        local added = 0
        for i = 1, #ARGV, 7 do
          if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
            local id = redis.call('XADD', KEYS[1], '*', 'job', ARGV[i], 'kind', ARGV[i + 1], 'part', ARGV[i + 2],
              'attempt', ARGV[i + 3], 'max', ARGV[i + 4], 'at', ARGV[i + 5], 'payload', ARGV[i + 6])
            redis.call('HSET', KEYS[2], ARGV[i], id)
            added = added + 1
          end
        end
        return added
        """
    )

    /// Acknowledges deliveries: `XACK` and `XDEL` each entry and forget its job unless a
    /// newer entry of the same job replaced it. KEYS: stream, entries. ARGV: group, then
    /// (job id, entry id) pairs.
    static let acknowledge = RedisScript(
        """
        for i = 2, #ARGV, 2 do
          redis.call('XACK', KEYS[1], ARGV[1], ARGV[i + 1])
          redis.call('XDEL', KEYS[1], ARGV[i + 1])
          if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
            redis.call('HDEL', KEYS[2], ARGV[i])
          end
        end
        return (#ARGV - 1) / 2
        """
    )

    /// Acknowledges one delivery and records the job in the dead-letter stream with its
    /// reason. KEYS: stream, entries, dead letters. ARGV: group, job id, entry id, kind,
    /// partition, attempts, reason, time (ms), dead-letter length.
    static let bury = RedisScript(
        """
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
        redis.call('XDEL', KEYS[1], ARGV[3])
        if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[3] then
          redis.call('HDEL', KEYS[2], ARGV[2])
        end
        return redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[9], '*', 'job', ARGV[2], 'kind', ARGV[4], 'part', ARGV[5],
          'attempts', ARGV[6], 'reason', ARGV[7], 'at', ARGV[8])
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
