import Foundation
import Logging
import RESP
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStore
import Synchronization

/// The node's background work: handing rows over, renewing its deliveries, finding what
/// Redis lost.
extension RedisJobQueue {
    /// Runs the dispatcher and the upkeep until graceful shutdown; then hands the entries
    /// this node read but never started back to the table.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.dispatchLoop() }
                group.addTask { await self.upkeepLoop() }
            }
        }
        let unstarted = state.withLock { state in
            defer { state.buffered.removeAll() }
            return state.buffered
        }
        guard !unstarted.isEmpty else { return }
        state.withLock { state in
            for delivery in unstarted {
                state.outstanding[delivery.entryID, default: 0] += delivery.jobs.count
                for job in delivery.jobs { state.inFlight[Self.deliveryKey(job)] = delivery.entryID }
            }
        }
        do {
            try await release(unstarted.flatMap(\.jobs))
        } catch {
            logger.warning("could not hand back unstarted jobs; another node takes them over", metadata: ["error": "\(error)"])
        }
    }

    /// Leases runs (each partition's runnable next jobs) and hands them to the stream,
    /// then waits for this node's next commit or polls for other nodes'.
    func dispatchLoop() async {
        var failures = 0
        while !Task.isCancelled {
            guard backend.isConnected else {
                await backend.waitForChange(timeout: .seconds(1))
                continue
            }
            do {
                if try await dispatchOnce() == 0 {
                    await outbox.waitForWork(timeout: configuration.idlePoll)
                }
                failures = 0
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                logger.log(level: failures == 1 ? .warning : .debug, "dispatching jobs to Redis failed", metadata: ["error": "\(error)"])
                await backend.waitForChange(timeout: .seconds(1))
            }
        }
    }

    /// One round: leases runs (up to a batch: a partition's runnable next jobs, or one
    /// job without a partition) and hands them over; on failure they go back to the
    /// table. Returns how many jobs.
    @discardableResult
    func dispatchOnce() async throws -> Int {
        try await prepareIfNeeded()
        let runs = try await outbox.claimRuns(
            limit: configuration.dispatchBatch,
            runLength: configuration.runLength,
            worker: Self.holder,
            lease: Self.handOverLease,
            kinds: .any
        )
        guard !runs.isEmpty else { return 0 }
        do {
            try await handOver(runs)
        } catch {
            try? await outbox.release(runs.flatMap { $0 })
            throw error
        }
        return runs.reduce(0) { $0 + $1.count }
    }

    /// `XADD`s, one entry per run, the runs the stream does not hold yet, in one atomic call.
    func handOver(_ runs: [[Job]]) async throws {
        _ = try await backend.client.evalScript(
            RedisQueueScripts.handOver,
            keys: [keys.streamArgument, RedisArgument(keys.entries)],
            arguments: runs.flatMap(StreamRun.arguments)
        )
    }

    /// Renews deliveries, resends acknowledgements, and checks what Redis still holds.
    func upkeepLoop() async {
        let interval = min(configuration.lease / 3, configuration.sweepInterval)
        while !Task.isCancelled {
            if backend.isConnected {
                do {
                    await retryAcknowledgements()
                    try await renewDeliveries()
                    try await sweepIfDue()
                } catch {
                    logger.debug("queue upkeep failed; will try again", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: max(interval, .milliseconds(50)))
        }
    }

    /// For a new connection (Redis may have restarted empty): the consumer group exists,
    /// and if the epoch changed every job handed over is handed over again.
    func prepareIfNeeded() async throws {
        let generation = backend.generation
        guard state.withLock({ $0.preparedGeneration != generation }) else { return }
        try await backend.client.createGroupIfNeeded(stream: keys.stream, group: keys.group, startID: "0")
        try await checkEpoch()
        state.withLock { $0.preparedGeneration = generation }
    }

    /// Makes the next call prepare again (the group vanished under us).
    func forgetPreparation() {
        state.withLock { $0.preparedGeneration = -1 }
    }

    /// Reads (or creates) the queue's epoch; a different one than last seen means Redis
    /// lost the queue, so every row handed over goes back to being dispatched.
    func checkEpoch() async throws {
        let fresh = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        _ = try await backend.client.set(keys.epoch, to: fresh, condition: .ifNotExists)
        let epoch = try await backend.client.get(keys.epoch)
        let previous = state.withLock { state in
            defer { state.epoch = epoch }
            return state.epoch
        }
        guard let previous, previous != epoch else { return }
        forgetPreparation()
        try await backend.client.createGroupIfNeeded(stream: keys.stream, group: keys.group, startID: "0")
        let lapsed = try await outbox.lapseLeases(heldBy: Self.holder)
        logger.warning("Redis lost the job queue (restarted empty or flushed); dispatching its jobs again", metadata: ["jobs": "\(lapsed)"])
    }

    /// Every `sweepInterval`: rows handed over (longer ago than the grace) whose job the
    /// entries hash does not know were lost by Redis; their leases end so they are handed
    /// over again. A row finished meanwhile is gone before its job leaves the hash, so it
    /// is never taken for lost.
    func sweepIfDue() async throws {
        let now = ContinuousClock.now
        guard
            state.withLock({ state in
                guard state.nextSweep <= now else { return false }
                state.nextSweep = now + configuration.sweepInterval
                return true
            })
        else { return }
        try await checkEpoch()
        let cutoff = outbox.wallClock.now().addingTimeInterval((Self.handOverLease - configuration.handOverGrace).timeInterval)
        let ids = try await outbox.leasedJobIDs(heldBy: Self.holder, leaseEndsBefore: cutoff.millisecondsSince1970, limit: 1000)
        guard !ids.isEmpty else { return }
        let known = try await backend.client.send(.hmget(RedisArgument(keys.entries), fields: ids.map { RedisArgument($0) }))
        let missing = zip(ids, known).compactMap { $1 == nil ? $0 : nil }
        guard !missing.isEmpty else { return }
        let lapsed = try await outbox.lapseLeases(heldBy: Self.holder, ids: missing)
        if lapsed > 0 {
            logger.warning("jobs handed to Redis were missing from it; dispatching them again", metadata: ["jobs": "\(lapsed)"])
        }
    }
}
