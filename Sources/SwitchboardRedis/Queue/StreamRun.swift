import Foundation
import RESP
import SwitchboardCore

/// A run as one stream entry: a partition's next jobs in order (or one job without a
/// partition), in the field `jobs`, one line per job. A run is one entry so that one worker
/// runs it in order, whatever node reads it.
///
/// A line is `id TAB kind TAB partition TAB attempt TAB attempts allowed TAB enqueued (ms)
/// TAB payload`, with the kind and payload base64 and the partition `-` (none) or `=` then
/// base64, so no byte of them can break the format.
enum StreamRun {
    /// The arguments ``RedisQueueScripts/handOver`` takes for a run: how many jobs, their
    /// ids, the entry's text.
    static func arguments(_ run: [Job]) -> [RedisArgument] {
        let lines = run.map { job in
            [
                job.id, Data(job.kind.rawValue.utf8).base64EncodedString(),
                job.partition.map { "=" + Data($0.utf8).base64EncodedString() } ?? "-",
                String(job.attempt), String(job.maxAttempts), String(job.enqueuedAt.millisecondsSince1970),
                Data(job.payload).base64EncodedString(),
            ].joined(separator: "\t")
        }
        return [RedisArgument(run.count)] + run.map { RedisArgument($0.id) } + [RedisArgument(lines.joined(separator: "\n"))]
    }

    /// The jobs an entry holds, in order; nil for an entry that is not a run. `deliveries`
    /// counts this delivery: jobs taken over from a dead consumer run as later attempts.
    static func jobs(from entry: RedisStreamEntry, deliveries: Int = 1) -> [Job]? {
        guard let text = entry["jobs"], !text.isEmpty else { return nil }
        var jobs: [Job] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 7, let kind = decoded(fields[1]), let attempt = Int(fields[3]), let allowed = Int(fields[4]),
                let at = Int64(fields[5]), let payload = Data(base64Encoded: String(fields[6]))
            else { return nil }
            let partition: String?
            switch fields[2].first {
            case "-": partition = nil
            case "=":
                guard let name = decoded(fields[2].dropFirst()) else { return nil }
                partition = name
            default: return nil
            }
            jobs.append(
                Job(
                    id: String(fields[0]),
                    kind: JobKind(rawValue: kind),
                    partition: partition,
                    payload: Array(payload),
                    attempt: attempt + max(0, deliveries - 1),
                    maxAttempts: allowed,
                    enqueuedAt: Date(millisecondsSince1970: at)
                )
            )
        }
        return jobs.isEmpty ? nil : jobs
    }

    private static func decoded(_ base64: Substring) -> String? {
        Data(base64Encoded: String(base64)).map { String(decoding: $0, as: UTF8.self) }
    }
}
