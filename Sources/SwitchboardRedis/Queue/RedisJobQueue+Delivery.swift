import Foundation
import Logging
import RESP
import SwitchboardCore
import SwitchboardStore
import Synchronization

/// Reading the stream, taking over a dead worker's entries, and settling.
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
        var unreadable = Acknowledgements()
        for entry in reads.flatMap(\.entries) {
            if let jobs = StreamRun.jobs(from: entry) {
                deliveries.append(Delivery(jobs: jobs, entryID: entry.id))
            } else {
                unreadable.entries.append(entry.id)
            }
        }
        if !unreadable.isEmpty {
            logger.error("dropping stream entries that are not runs of jobs", metadata: ["entries": "\(unreadable.entries)"])
            await sendAcknowledgements(unreadable)
        }
        return deliveries
    }

    /// Every `lease / 2`: entries pending for longer than `lease` on a consumer that
    /// stopped renewing them (a node that died) become this node's, their jobs as later
    /// attempts. Of each run only the jobs still unfinished are taken: those whose row is
    /// still handed over and whose entry is still this one (the others finished, failed,
    /// or were handed back or over again meanwhile); an entry with none is closed.
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
        let counts = try await backend.client.pipeline(
            entries.map { entry in
                RedisCommand<[RedisPendingEntry]>.xpending(
                    keys.streamArgument,
                    group: keys.groupArgument,
                    start: RedisArgument(entry.id),
                    end: RedisArgument(entry.id),
                    count: 1
                )
            }
        )
        var runs: [Delivery] = []
        var stale = Acknowledgements()
        for (entry, count) in zip(entries, counts) {
            if let jobs = StreamRun.jobs(from: entry, deliveries: (try? count.get().first?.deliveryCount) ?? 1) {
                runs.append(Delivery(jobs: jobs, entryID: entry.id))
            } else {
                stale.entries.append(entry.id)
            }
        }
        let ids = runs.flatMap { $0.jobs.map(\.id) }
        let current = ids.isEmpty ? [] : try await backend.client.send(.hmget(RedisArgument(keys.entries), fields: ids.map { RedisArgument($0) }))
        let entryOf = Dictionary(zip(ids, current), uniquingKeysWith: { first, _ in first })
        let leased = try await outbox.stillLeased(ids, heldBy: Self.holder)
        var valid: [Delivery] = []
        for run in runs {
            let unfinished = run.jobs.filter { entryOf[$0.id] == run.entryID && leased.contains($0.id) }
            if unfinished.isEmpty {
                stale.entries.append(run.entryID)
            } else {
                valid.append(Delivery(jobs: unfinished, entryID: run.entryID))
            }
        }
        if !stale.isEmpty { await sendAcknowledgements(stale) }
        if !valid.isEmpty {
            logger.notice(
                "took over jobs a worker stopped renewing",
                metadata: ["jobs": "\(valid.flatMap { $0.jobs.map(\.id) })", "consumer": "\(consumer)"]
            )
        }
        return valid
    }

    /// Settles these jobs (the ones this node holds) and tells Redis.
    func acknowledgeDeliveries(_ jobs: [Job]) async {
        let acknowledgements = settle(jobs)
        if !acknowledgements.isEmpty { await sendAcknowledgements(acknowledgements) }
    }

    /// Forgets settled jobs and closes finished entries, many per call: while one call is
    /// on its way, what comes meanwhile is sent by the same caller next (the others return
    /// at once). What Redis cannot take now is kept for the upkeep to send again.
    func sendAcknowledgements(_ acknowledgements: Acknowledgements) async {
        let sends = state.withLock { state -> Bool in
            state.acknowledging.append(acknowledgements)
            guard !state.sendingAcknowledgements else { return false }
            state.sendingAcknowledgements = true
            return true
        }
        guard sends else { return }
        while true {
            let batch = state.withLock { state in
                defer { state.acknowledging = Acknowledgements() }
                if state.acknowledging.isEmpty { state.sendingAcknowledgements = false }
                return state.acknowledging
            }
            guard !batch.isEmpty else { return }
            guard backend.isConnected else {
                state.withLock { $0.unacknowledged.append(batch) }
                continue
            }
            var arguments: [RedisArgument] = [keys.groupArgument, RedisArgument(batch.jobs.count)]
            for job in batch.jobs { arguments += [RedisArgument(job.jobID), RedisArgument(job.entryID)] }
            arguments += batch.entries.map { RedisArgument($0) }
            do {
                _ = try await backend.client.evalScript(
                    RedisQueueScripts.acknowledge,
                    keys: [keys.streamArgument, RedisArgument(keys.entries)],
                    arguments: arguments
                )
            } catch {
                state.withLock { $0.unacknowledged.append(batch) }
                logger.debug("acknowledging jobs failed; will try again", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Sends the acknowledgements Redis could not take before.
    func retryAcknowledgements() async {
        let pending = state.withLock { state in
            defer { state.unacknowledged = Acknowledgements() }
            return state.unacknowledged
        }
        if !pending.isEmpty { await sendAcknowledgements(pending) }
    }

    /// Adds a dead job to the dead-letter stream with its reason. The row keeps the reason
    /// too (the truth); if Redis cannot take it now, only the stream's copy is missing.
    func writeDeadLetter(_ job: Job, reason: String) async {
        let fields: [(name: RedisArgument, value: RedisArgument)] = [
            ("job", RedisArgument(job.id)), ("kind", RedisArgument(job.kind.rawValue)), ("part", RedisArgument(job.partition ?? "")),
            ("attempts", RedisArgument(job.attempt)), ("reason", RedisArgument(reason)),
            ("at", RedisArgument(outbox.wallClock.now().millisecondsSince1970)),
        ]
        do {
            _ = try await backend.client.send(
                .xadd(RedisArgument(keys.deadLetters), trim: .approximateMaxLength(configuration.deadLetterLength), fields: fields)
            )
        } catch {
            logger.warning("a dead job could not be written to the dead-letter stream", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
    }

    /// Renews this node's deliveries (read or running) so no other node takes them over.
    func renewDeliveries() async throws {
        let entryIDs = state.withLock { state in Set(state.buffered.map(\.entryID) + state.inFlight.values) }
        guard !entryIDs.isEmpty else { return }
        let lost = try await backend.client.evalScript(
            RedisQueueScripts.touch,
            keys: [keys.streamArgument],
            arguments: [keys.groupArgument, RedisArgument(consumer)] + entryIDs.sorted().map { RedisArgument($0) },
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
