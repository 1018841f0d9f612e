import RESP

/// Where the Streams queue lives in Redis.
struct RedisQueueKeys: Sendable {
    /// The stream workers read, one entry per job handed over by the dispatcher.
    let stream: String
    /// Job id → stream entry id of every job in the stream: a job is handed over once
    /// (a second dispatch of the same row is dropped) and an acknowledgement of a stale
    /// delivery never forgets a newer one.
    let entries: String
    /// Dead-lettered jobs with their reasons (trimmed to about `deadLetterLength`).
    let deadLetters: String
    /// A random value set when the queue's keys are created: a different one means Redis
    /// lost them (restarted empty, flushed), so every job handed over must be again.
    let epoch: String
    /// The consumer group of the workers.
    let group = "workers"

    init(prefix: String) {
        stream = prefix + ":queue:jobs"
        entries = prefix + ":queue:entries"
        deadLetters = prefix + ":queue:dead"
        epoch = prefix + ":queue:epoch"
    }

    var streamArgument: RedisArgument { RedisArgument(stream) }
    var groupArgument: RedisArgument { RedisArgument(group) }
}
