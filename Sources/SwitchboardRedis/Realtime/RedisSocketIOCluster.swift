import Foundation
public import Logging
import RESP
public import ServiceLifecycle
public import SocketIO
import SwitchboardCore
import Synchronization

/// Several `serve` processes as one Socket.IO server: makes the Redis adapter of each
/// namespace and runs what they share — the writer that appends broadcasts and sessions
/// to Redis, the reader that delivers every namespace's packet stream to this node's
/// sockets, the answers to other nodes' questions (which sockets, which rooms), cluster-
/// wide commands, and this node's heartbeat.
///
/// Put ``adapterFactory`` in the server's configuration and run the cluster as a service.
/// A process without sockets (a worker) runs it too: what it emits reaches every node.
public final class RedisSocketIOCluster: Service {
    let backend: RedisBackend
    public let registry: RedisNodeRegistry
    let logger: Logger
    let requestTimeout: Duration
    private let state = Mutex(State())
    private let pendingWrites = WorkSignal()

    private enum Write {
        case broadcast(ClusterBroadcast, namespace: String)
        case session(SocketIOSessionSnapshot, namespace: String, ttl: Duration)
    }

    private struct State {
        var adapters: [String: RedisSocketIOAdapter] = [:]
        var writes: [Write] = []
        /// Broadcasts this node delivered to its own sockets while Redis was unreachable,
        /// appended for the other nodes once it is back (oldest dropped past the bound).
        var postponed: [Write] = []
        var nextSequence: UInt64 = 0
        /// Broadcasts (origin and number) this node's sockets got already: one that comes
        /// (again) from the stream is skipped.
        var delivered = RecentKeys(capacity: 50_000)
        /// What this node appended lately, appended again should Redis lose it before
        /// every node read it (a restart without persistence, a flush).
        var appended: [(write: Write, at: ContinuousClock.Instant)] = []
        /// The packet streams' epoch, and the backend generation it was checked for.
        var epoch: String?
        var epochChecked = (generation: -1, at: ContinuousClock.now)
        var lastRead: [String: String] = [:]
        var questions: [String: Question] = [:]
        var controlHandlers: [@Sendable (String, String) async -> Void] = []
        /// Whether the first subscription to questions, answers and commands is live.
        var listening = false
        var listeningWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// A question to the other nodes: answers accumulate until every node answered or the
    /// time is up, whichever comes first (the asker may start waiting after either).
    private struct Question {
        var waitingFor: Set<String>
        var answers: Set<String> = []
        var over = false
        var continuation: CheckedContinuation<Set<String>, Never>?
    }

    enum Ask: Sendable {
        case sockets(SocketIOBroadcastOptions)
        case rooms
    }

    public init(backend: RedisBackend, registry: RedisNodeRegistry, requestTimeout: Duration = .seconds(1), logger: Logger) {
        self.backend = backend
        self.registry = registry
        self.requestTimeout = requestTimeout
        self.logger = logger
    }

    /// Put this in `SocketIOConfiguration.adapter`.
    public var adapterFactory: SocketIOAdapterFactory {
        { [self] context in
            let adapter = RedisSocketIOAdapter(context: context, cluster: self)
            state.withLock { $0.adapters[context.namespace] = adapter }
            return adapter
        }
    }

    // MARK: Keys

    func streamKey(_ namespace: String) -> String { backend.key("sio", namespace, "packets") }
    func sessionKey(_ namespace: String, _ pid: String) -> String { backend.key("sio", namespace, "session", pid) }
    var questionChannel: String { backend.key("sio", "questions") }
    func answerChannel(_ node: String) -> String { backend.key("sio", "answers", node) }
    var controlChannel: String { backend.key("sio", "control") }

    /// A stream id (`<ms>-<n>`), as opposed to an offset the in-memory adapter made while
    /// Redis was unreachable (`<epoch>-<n>`, a short base-36 epoch).
    static func isStreamID(_ offset: String) -> Bool {
        let parts = offset.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 2 && parts[0].count >= 12 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    // MARK: From the adapters

    /// Most broadcasts kept for the other nodes while Redis is unreachable.
    static let maxPostponed = 10_000

    /// Queues a broadcast for the stream. While Redis is down it is kept for the other
    /// nodes and false is returned: the adapter delivers it to this node's sockets now.
    func submit(_ broadcast: SocketIOBroadcast, from adapter: RedisSocketIOAdapter) -> Bool {
        let connected = backend.isConnected
        state.withLock { state in
            state.nextSequence += 1
            let entry = ClusterBroadcast(broadcast: broadcast, origin: backend.nodeID, sequence: state.nextSequence)
            if connected {
                state.writes.append(.broadcast(entry, namespace: adapter.namespace))
            } else {
                Self.postpone(.broadcast(entry, namespace: adapter.namespace), in: &state)
            }
        }
        if connected { pendingWrites.notify() }
        return connected
    }

    /// Keeps a broadcast this node delivered itself for the other nodes.
    private static func postpone(_ write: Write, in state: inout State) {
        guard case .broadcast(let entry, _) = write else { return }
        state.delivered.insert(entry.key)
        state.postponed.append(write)
        if state.postponed.count > maxPostponed { state.postponed.removeFirst() }
    }

    /// How long appended broadcasts are kept to append again after a loss.
    static let keepAppended: Duration = .seconds(15)

    /// Keeps a disconnected session in Redis for the recovery window.
    func persist(_ snapshot: SocketIOSessionSnapshot, namespace: String) {
        guard backend.isConnected, let recovery = state.withLock({ $0.adapters[namespace]?.context.recovery }) else { return }
        state.withLock { $0.writes.append(.session(snapshot, namespace: namespace, ttl: recovery.maxDisconnectionDuration)) }
        pendingWrites.notify()
    }

    /// The session `pid` and the recoverable packets after `offset` it was targeted by;
    /// nil when either is gone (the client then starts afresh and catches up by REST).
    func restore(pid: String, offset: String, namespace: String) async throws -> SocketIORestoredSession? {
        guard backend.isConnected,
            let stored = try await backend.client.send(.getdel(RedisArgument(sessionKey(namespace, pid)))),
            let snapshot = try? JSONDecoder().decode(SocketIOSessionSnapshot.self, from: Data(stored.utf8))
        else { return nil }
        let stream = RedisArgument(streamKey(namespace))
        guard try await !backend.client.send(.xrange(stream, start: RedisArgument(offset), end: RedisArgument(offset), count: 1)).isEmpty else {
            return nil
        }
        let entries = try await backend.client.send(.xrange(stream, start: RedisArgument("(" + offset), end: "+", count: 100_000))
        let missed = entries.compactMap { entry -> SocketIOValue? in
            guard entry["recover"] == "1", let broadcast = ClusterBroadcast(entry: entry),
                broadcast.broadcast.options.includes(socketRooms: snapshot.rooms)
            else { return nil }
            return broadcast.broadcast.packet.data
        }
        return SocketIORestoredSession(snapshot: snapshot, missedPackets: missed)
    }

    /// Asks every other live node; waits for all of them or `requestTimeout`.
    func ask(_ question: Ask, namespace: String) async -> Set<String> {
        guard backend.isConnected, let others = try? await registry.liveNodes().subtracting([backend.nodeID]), !others.isEmpty else {
            return []
        }
        let id = UUID().uuidString
        let message = ClusterMessage.question(
            .init(id: id, from: backend.nodeID, namespace: namespace, rooms: question.rooms, except: question.except, asksRooms: question.asksRooms)
        )
        state.withLock { $0.questions[id] = Question(waitingFor: others) }
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = try? await self.backend.client.publish(message.encoded, to: self.questionChannel)
                try? await Task.sleep(for: self.requestTimeout)
                self.settle(id) { $0.over = true }
            }
            let answers = await withCheckedContinuation { continuation in
                self.settle(id) { $0.continuation = continuation }
            }
            group.cancelAll()
            return answers
        }
    }

    /// Updates a question; resumes its asker once it is over and the asker waits.
    private func settle(_ id: String, _ update: (inout Question) -> Void) {
        let finished = state.withLock { state -> (CheckedContinuation<Set<String>, Never>, Set<String>)? in
            guard var question = state.questions[id] else { return nil }
            update(&question)
            if question.waitingFor.isEmpty { question.over = true }
            guard question.over, let continuation = question.continuation else {
                state.questions[id] = question
                return nil
            }
            state.questions[id] = nil
            return (continuation, question.answers)
        }
        finished?.0.resume(returning: finished?.1 ?? [])
    }

    // MARK: Cluster-wide commands

    /// Runs `handler(name, argument)` for every command published by any node (this one
    /// included).
    public func onCommand(_ handler: @escaping @Sendable (String, String) async -> Void) {
        state.withLock { $0.controlHandlers.append(handler) }
    }

    /// Publishes a command to every node; false when Redis is unreachable (run it locally).
    public func publishCommand(_ name: String, _ argument: String) async -> Bool {
        guard backend.isConnected else { return false }
        do {
            try await backend.client.publish(ClusterMessage.command(.init(name: name, argument: argument)).encoded, to: controlChannel)
            return true
        } catch {
            return false
        }
    }

    // MARK: Running

    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.writeLoop() }
                group.addTask { await self.readLoop() }
                group.addTask { await self.listenLoop() }
                group.addTask { await self.registry.beatUntilCancelled(logger: self.logger) }
            }
        }
        try? await registry.leave()
    }

    private func writeLoop() async {
        while !Task.isCancelled {
            await pendingWrites.wait(timeout: .seconds(1))
            let connected = backend.isConnected
            let writes = state.withLock { state in
                var writes = state.writes
                if connected {
                    writes = state.postponed + writes
                    state.postponed.removeAll()
                }
                state.writes.removeAll()
                return writes
            }
            guard !writes.isEmpty else { continue }
            await append(writes)
        }
    }

    /// Appends in one pipeline. A broadcast that could not be appended is delivered to
    /// this node's sockets now and kept for the other nodes until Redis takes it.
    private func append(_ writes: [Write]) async {
        let now = Date().millisecondsSince1970
        let commands: [RedisCommand<String?>] = writes.map { write in
            switch write {
            case .broadcast(let entry, let namespace):
                let keep = state.withLock { $0.adapters[namespace]?.context.recovery?.maxDisconnectionDuration } ?? .seconds(60)
                let cutoff = now - keep.components.seconds * 1000
                let add = RedisCommand<String>.xadd(
                    RedisArgument(streamKey(namespace)),
                    trim: .approximateMinID("\(max(0, cutoff))-0"),
                    fields: entry.fields
                )
                return RedisCommand<String?>(add.arguments)
            case .session(let snapshot, let namespace, let ttl):
                let json = String(decoding: (try? JSONEncoder().encode(snapshot)) ?? Data(), as: UTF8.self)
                return RedisCommand<String?>([
                    "SET", RedisArgument(sessionKey(namespace, snapshot.pid)), RedisArgument(json), "PX", .milliseconds(ttl),
                ])
            }
        }
        let results: [Result<String?, RedisError>]
        var ambiguous = false
        do {
            results = try await backend.client.pipeline(commands)
        } catch {
            results = Array(repeating: .failure(RedisError(.connectionClosed, message: "\(error)")), count: writes.count)
            ambiguous = true
        }
        let appendedAt = ContinuousClock.now
        for (write, result) in zip(writes, results) {
            guard case .broadcast(let entry, let namespace) = write else { continue }
            guard case .failure(let error) = result else {
                state.withLock { $0.appended.append((write, appendedAt)) }
                continue
            }
            let (adapter, delivered) = state.withLock { state in
                let delivered = state.delivered.contains(entry.key)
                Self.postpone(write, in: &state)
                return (state.adapters[namespace], delivered)
            }
            if !delivered { adapter?.local.broadcast(entry.broadcast) }
            logger.debug("a broadcast waits for Redis; this node's sockets have it", metadata: ["error": "\(error)", "ambiguous": "\(ambiguous)"])
        }
        state.withLock { state in
            let cutoff = appendedAt - Self.keepAppended
            if let keep = state.appended.firstIndex(where: { $0.at >= cutoff }) {
                state.appended.removeFirst(keep)
            } else {
                state.appended.removeAll()
            }
        }
    }

    /// Delivers every namespace's new stream entries to this node's sockets.
    private func readLoop() async {
        while !Task.isCancelled {
            guard backend.isConnected else {
                await backend.waitForChange(timeout: .seconds(1))
                continue
            }
            let start = "\(Date().millisecondsSince1970 - 5000)-0"
            let (adapters, positions) = state.withLock { state -> ([String: RedisSocketIOAdapter], [(String, String)]) in
                for namespace in state.adapters.keys where state.lastRead[namespace] == nil { state.lastRead[namespace] = start }
                return (state.adapters, state.adapters.keys.sorted().map { ($0, state.lastRead[$0]!) })
            }
            guard !positions.isEmpty else {
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            do {
                try await checkEpoch()
                let reads = try await backend.client.send(
                    .xread(
                        streams: positions.map { (RedisArgument(streamKey($0.0)), RedisArgument($0.1)) },
                        count: 1000,
                        block: .seconds(1)
                    )
                )
                for read in reads {
                    guard let (namespace, adapter) = adapters.first(where: { streamKey($0.key) == read.stream }) else { continue }
                    for entry in read.entries {
                        state.withLock { $0.lastRead[namespace] = entry.id }
                        guard let broadcast = ClusterBroadcast(entry: entry) else { continue }
                        if state.withLock({ $0.delivered.insert(broadcast.key) }) { adapter.deliver(broadcast.broadcast) }
                    }
                }
            } catch {
                logger.debug("reading the Socket.IO streams failed", metadata: ["error": "\(error)"])
                await backend.waitForChange(timeout: .seconds(1))
            }
        }
    }

    /// Once per connection and every second: a new epoch of the packet streams means Redis
    /// lost them, so what this node appended lately is appended again (receivers skip what
    /// they delivered already).
    private func checkEpoch() async throws {
        let generation = backend.generation
        let due = state.withLock { $0.epochChecked.generation != generation || ContinuousClock.now - $0.epochChecked.at >= .seconds(1) }
        guard due else { return }
        let key = backend.key("sio", "epoch")
        _ = try await backend.client.set(key, to: String(UInt64.random(in: 0...UInt64.max), radix: 36), condition: .ifNotExists)
        let epoch = try await backend.client.get(key)
        let again = state.withLock { state -> Int in
            defer {
                state.epoch = epoch
                state.epochChecked = (generation, ContinuousClock.now)
            }
            guard let previous = state.epoch, previous != epoch else { return 0 }
            state.writes = state.appended.map(\.write) + state.writes
            state.appended.removeAll()
            return state.writes.count
        }
        guard again > 0 else { return }
        logger.notice("Redis lost the Socket.IO streams; appending this node's recent broadcasts again", metadata: ["broadcasts": "\(again)"])
        pendingWrites.notify()
    }

    /// Returns once this node listens for other nodes' questions and commands (its first
    /// subscription is live). Pub/sub keeps nothing: a question published before a node
    /// listens goes unanswered until the asker's timeout.
    public func waitUntilListening() async {
        await withCheckedContinuation { continuation in
            let listening = state.withLock { state in
                if !state.listening { state.listeningWaiters.append(continuation) }
                return state.listening
            }
            if listening { continuation.resume() }
        }
    }

    /// Answers other nodes' questions, collects answers to ours, runs commands.
    private func listenLoop() async {
        while !Task.isCancelled {
            do {
                let subscription = try await backend.client.subscribe(to: [questionChannel, answerChannel(backend.nodeID), controlChannel])
                let waiters = state.withLock { state in
                    state.listening = true
                    defer { state.listeningWaiters = [] }
                    return state.listeningWaiters
                }
                for waiter in waiters { waiter.resume() }
                for try await message in subscription {
                    guard let decoded = ClusterMessage(message.string) else { continue }
                    await handle(decoded)
                }
            } catch {
                await backend.waitForChange(timeout: .seconds(1))
            }
        }
    }

    private func handle(_ message: ClusterMessage) async {
        switch message {
        case .question(let question) where question.from != backend.nodeID:
            let adapter = state.withLock { $0.adapters[question.namespace] }
            var values: Set<String> = []
            if let adapter {
                values =
                    question.asksRooms
                    ? ((try? await adapter.local.allRooms()) ?? [])
                    : adapter.local.localSocketIDs(matching: .init(rooms: Set(question.rooms), except: Set(question.except)))
            }
            let answer = ClusterMessage.answer(.init(id: question.id, node: backend.nodeID, values: values.sorted()))
            _ = try? await backend.client.publish(answer.encoded, to: answerChannel(question.from))
        case .question:
            return
        case .answer(let answer):
            settle(answer.id) { question in
                question.answers.formUnion(answer.values)
                question.waitingFor.remove(answer.node)
            }
        case .command(let command):
            for handler in state.withLock({ $0.controlHandlers }) { await handler(command.name, command.argument) }
        }
    }

}

extension RedisSocketIOCluster.Ask {
    var rooms: [String] {
        if case .sockets(let options) = self { return options.rooms.sorted() }
        return []
    }
    var except: [String] {
        if case .sockets(let options) = self { return options.except.sorted() }
        return []
    }
    var asksRooms: Bool {
        if case .rooms = self { return true }
        return false
    }
}
