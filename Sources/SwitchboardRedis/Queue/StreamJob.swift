import Foundation
import RESP
import SwitchboardCore

/// A job as a stream entry: its row id, kind, partition, attempt, attempts allowed,
/// enqueue time and payload (base64, so any bytes survive the text fields).
enum StreamJob {
    /// Values per job in ``RedisQueueScripts/handOver``'s arguments.
    static let fieldCount = 7

    /// The arguments ``RedisQueueScripts/handOver`` takes for `job`.
    static func arguments(_ job: Job) -> [RedisArgument] {
        [
            RedisArgument(job.id),
            RedisArgument(job.kind.rawValue),
            RedisArgument(encode(partition: job.partition)),
            RedisArgument(job.attempt),
            RedisArgument(job.maxAttempts),
            RedisArgument(job.enqueuedAt.millisecondsSince1970),
            RedisArgument(Data(job.payload).base64EncodedString()),
        ]
    }

    /// A partition as stored: `-` for none, `=` then the name otherwise (an empty name stays
    /// distinct from none).
    static func encode(partition: String?) -> String {
        partition.map { "=" + $0 } ?? "-"
    }

    static func decode(partition: String) -> String? {
        partition.hasPrefix("=") ? String(partition.dropFirst()) : nil
    }

    /// The job an entry holds; nil for an entry that was deleted or is not a job.
    /// `deliveries` counts this delivery: a job reclaimed from a dead consumer runs as a
    /// later attempt.
    static func job(from entry: RedisStreamEntry, deliveries: Int = 1) -> Job? {
        guard let id = entry["job"], let kind = entry["kind"], let part = entry["part"], let attempt = entry["attempt"].flatMap({ Int($0) }),
            let allowed = entry["max"].flatMap({ Int($0) }), let at = entry["at"].flatMap({ Int64($0) }),
            let payload = entry["payload"].flatMap({ Data(base64Encoded: $0) })
        else { return nil }
        return Job(
            id: id,
            kind: JobKind(rawValue: kind),
            partition: decode(partition: part),
            payload: Array(payload),
            attempt: attempt + max(0, deliveries - 1),
            maxAttempts: allowed,
            enqueuedAt: Date(millisecondsSince1970: at)
        )
    }
}
