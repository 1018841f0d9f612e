import Foundation
import Logging
import RESP
import SwitchboardCore
import SwitchboardStore
import Synchronization

/// Reading the stream, taking over a dead worker's entries, and acknowledging.
extension RedisJobQueue {
    /// New entries for this consumer (`XREADGROUP … >`), optionally blocking.
    func read(count: Int, block: Duration?) async throws -> [Delivery] {
        let reads: [RedisStreamRead]
        do {
            reads = try await backend.client.send(
                .xreadgroup(
                    group: keys.groupArgument,
                    consumer: RedisArgument(consumer),
                    streams: [(keys.streamArgument, RedisArgument(">"))],
                    count: count,
                    block: block
                )
            )
        } catch let error as RedisError where error.serverPrefix == "NOGROUP" {
            forgetPreparation()
            throw error
        }
        var deliveries: [Delivery] = []
        var unreadable: [String] = []
        for entry in reads.flatMap(\.entries) {
            if let job = StreamJob.job(from: entry) {
                deliveries.append(Delivery(job: job, entryID: entry.id))
            } else {
                unreadable.append(entry.id)
            }
        }
        if !unreadable.isEmpty {
            logger.error("dropping stream entries that are not jobs", metadata: ["entries": "\(unreadable)"])
            await sendAcknowledgements(unreadable.map { (jobID: "", entryID: $0) })
        }
        return deliveries
    }

    /// Every `lease / 2`: entries pending for longer than `lease` on a consumer that
    /// stopped renewing them (a node that died) become this node's, as later attempts.
    /// An entry whose row is gone or no longer handed over (finished, failed, or handed
    /// over again meanwhile) is only acknowledged.
    func reclaimIfDue() async throws -> [Delivery] {
        let now = ContinuousClock.now
        let cursor = state.withLock { state -> String? in
            guard state.nextReclaim <= now else { return nil }
            state.nextReclaim = now + configuration.lease / 2
            return state.reclaimCursor
        }
        guard let cursor else { return [] }
        let claimed = try await backend.client.send(
            .xautoclaim(
                keys.streamArgument,
                group: keys.groupArgument,
                consumer: RedisArgument(consumer),
                minIdle: configuration.lease,
                start: RedisArgument(cursor),
                count: 64
            )
        )
        // Entries this node already holds stay where they are (they were idle, not lost).
        let held = state.withLock { state in
            state.reclaimCursor = claimed.nextStart
            return Set(state.inFlight.values).union(state.buffered.map(\.entryID))
        }
        let entries = claimed.entries.filter { !held.contains($0.id) }
        guard !entries.isEmpty else { return [] }
        let ids = entries.map { RedisArgument($0.id) }
        let counts = try await backend.client.pipeline(
            ids.map { RedisCommand<[RedisPendingEntry]>.xpending(keys.streamArgument, group: keys.groupArgument, start: $0, end: $0, count: 1) }
        )
        var candidates: [Delivery] = []
        var stale: [(jobID: String, entryID: String)] = []
        for (entry, count) in zip(entries, counts) {
            let deliveries = (try? count.get().first?.deliveryCount) ?? 1
            if let job = StreamJob.job(from: entry, deliveries: deliveries) {
                candidates.append(Delivery(job: job, entryID: entry.id))
            } else {
                stale.append((jobID: entry["job"] ?? "", entryID: entry.id))
            }
        }
        let current =
            candidates.isEmpty
            ? [] : try await backend.client.send(.hmget(RedisArgument(keys.entries), fields: candidates.map { RedisArgument($0.job.id) }))
        let leased = try await outbox.stillLeased(candidates.map(\.job.id), heldBy: Self.holder)
        var valid: [Delivery] = []
        for (delivery, entryID) in zip(candidates, current) {
            if entryID == delivery.entryID && leased.contains(delivery.job.id) {
                valid.append(delivery)
            } else {
                stale.append((jobID: delivery.job.id, entryID: delivery.entryID))
            }
        }
        if !stale.isEmpty { await sendAcknowledgements(stale) }
        if !valid.isEmpty {
            logger.notice(
                "took over jobs a worker stopped renewing",
                metadata: ["jobs": "\(valid.map(\.job.id))", "consumer": "\(consumer)"]
            )
        }
        return valid
    }

    /// Acknowledges the deliveries of these jobs this node holds.
    func acknowledgeDeliveries(_ jobs: [Job]) async {
        let pairs = jobs.compactMap { job in takeInFlight(job).map { (jobID: job.id, entryID: $0) } }
        guard !pairs.isEmpty else { return }
        await sendAcknowledgements(pairs)
    }

    /// `XACK`+`XDEL` and forget, many per call: while one call is on its way, what comes
    /// meanwhile is sent by the same caller next (the others return at once). What Redis
    /// cannot take now is kept for the upkeep to send again.
    func sendAcknowledgements(_ pairs: [(jobID: String, entryID: String)]) async {
        let sends = state.withLock { state -> Bool in
            state.acknowledging += pairs
            guard !state.sendingAcknowledgements else { return false }
            state.sendingAcknowledgements = true
            return true
        }
        guard sends else { return }
        while true {
            let batch = state.withLock { state in
                defer { state.acknowledging.removeAll() }
                if state.acknowledging.isEmpty { state.sendingAcknowledgements = false }
                return state.acknowledging
            }
            guard !batch.isEmpty else { return }
            guard backend.isConnected else {
                state.withLock { $0.unacknowledged += batch }
                continue
            }
            var arguments: [RedisArgument] = [keys.groupArgument]
            for pair in batch { arguments += [RedisArgument(pair.jobID), RedisArgument(pair.entryID)] }
            do {
                _ = try await backend.client.evalScript(
                    RedisQueueScripts.acknowledge,
                    keys: [keys.streamArgument, RedisArgument(keys.entries)],
                    arguments: arguments
                )
            } catch {
                state.withLock { $0.unacknowledged += batch }
                logger.debug("acknowledging jobs failed; will try again", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Sends the acknowledgements Redis could not take before.
    func retryAcknowledgements() async {
        let pending = state.withLock { state in
            defer { state.unacknowledged.removeAll() }
            return state.unacknowledged
        }
        if !pending.isEmpty { await sendAcknowledgements(pending) }
    }

    /// Acknowledges a dead job's entry and writes it to the dead-letter stream.
    func bury(_ job: Job, entryID: String, reason: String) async {
        do {
            _ = try await backend.client.evalScript(
                RedisQueueScripts.bury,
                keys: [keys.streamArgument, RedisArgument(keys.entries), RedisArgument(keys.deadLetters)],
                arguments: [
                    keys.groupArgument, RedisArgument(job.id), RedisArgument(entryID), RedisArgument(job.kind.rawValue),
                    RedisArgument(job.partition ?? ""), RedisArgument(job.attempt), RedisArgument(reason),
                    RedisArgument(outbox.wallClock.now().millisecondsSince1970), RedisArgument(configuration.deadLetterLength),
                ]
            )
        } catch {
            // The row keeps the reason (the truth); only the stream's copy is missing.
            logger.warning("a dead job could not be written to the dead-letter stream", metadata: ["job": "\(job.id)", "error": "\(error)"])
            await sendAcknowledgements([(jobID: job.id, entryID: entryID)])
        }
    }

    /// Renews this node's deliveries (read or running) so no other node takes them over.
    func renewDeliveries() async throws {
        let entryIDs = state.withLock { state in state.buffered.map(\.entryID) + Array(state.inFlight.values) }
        guard !entryIDs.isEmpty else { return }
        let lost = try await backend.client.evalScript(
            RedisQueueScripts.touch,
            keys: [keys.streamArgument],
            arguments: [keys.groupArgument, RedisArgument(consumer)] + entryIDs.map { RedisArgument($0) },
            as: [String].self
        )
        guard !lost.isEmpty else { return }
        let dropped = state.withLock { state in
            let before = state.buffered.count
            state.buffered.removeAll { lost.contains($0.entryID) }
            return before - state.buffered.count
        }
        logger.warning(
            "another node took over deliveries of this one (it did not renew them in time)",
            metadata: ["entries": "\(lost)", "unstarted": "\(dropped)"]
        )
    }

    /// The stream's side of the counts.
    func streamStats() async throws -> QueueStreamStats {
        let (length, groups, dead) = try await backend.client.pipeline(
            .xlen(keys.streamArgument),
            .xinfoGroups(keys.streamArgument),
            .xlen(RedisArgument(keys.deadLetters))
        )
        let group = groups.first { $0.name == keys.group }
        return QueueStreamStats(
            length: length,
            pending: group?.pending ?? 0,
            lag: group?.lag ?? 0,
            consumers: group?.consumers ?? 0,
            deadLetters: dead
        )
    }
}
