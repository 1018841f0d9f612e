import Foundation
import RESP
import SwitchboardCore

/// A run as one stream entry: a partition's next jobs in order (or one job without a
/// partition), in the field `jobs` as a JSON array (payloads base64, so any bytes survive).
/// A run is one entry so that one worker runs it in order, whatever node reads it.
enum StreamRun {
    private struct Encoded: Codable {
        var id: String
        var kind: String
        var partition: String?
        var attempt: Int
        var maxAttempts: Int
        var enqueuedAt: Int64
        var payload: String
    }

    /// The arguments ``RedisQueueScripts/handOver`` takes for a run: how many jobs, their
    /// ids, the entry's JSON.
    static func arguments(_ run: [Job]) -> [RedisArgument] {
        let encoded = run.map { job in
            Encoded(
                id: job.id,
                kind: job.kind.rawValue,
                partition: job.partition,
                attempt: job.attempt,
                maxAttempts: job.maxAttempts,
                enqueuedAt: job.enqueuedAt.millisecondsSince1970,
                payload: Data(job.payload).base64EncodedString()
            )
        }
        // Plain strings and numbers always encode.
        let json = (try? JSONEncoder().encode(encoded)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return [RedisArgument(run.count)] + run.map { RedisArgument($0.id) } + [RedisArgument(json)]
    }

    /// The jobs an entry holds, in order; nil for an entry that is not a run. `deliveries`
    /// counts this delivery: jobs taken over from a dead consumer run as later attempts.
    static func jobs(from entry: RedisStreamEntry, deliveries: Int = 1) -> [Job]? {
        guard let json = entry["jobs"], let encoded = try? JSONDecoder().decode([Encoded].self, from: Data(json.utf8)), !encoded.isEmpty
        else { return nil }
        var jobs: [Job] = []
        for job in encoded {
            guard let payload = Data(base64Encoded: job.payload) else { return nil }
            jobs.append(
                Job(
                    id: job.id,
                    kind: JobKind(rawValue: job.kind),
                    partition: job.partition,
                    payload: Array(payload),
                    attempt: job.attempt + max(0, deliveries - 1),
                    maxAttempts: job.maxAttempts,
                    enqueuedAt: Date(millisecondsSince1970: job.enqueuedAt)
                )
            )
        }
        return jobs
    }
}
