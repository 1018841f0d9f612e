import Foundation
public import Logging
import RESP
public import ServiceLifecycle
public import SwitchboardCore
import Synchronization

/// Presence and viewers shared by every node (``RedisPresenceScripts`` describes the
/// keys). Each node keeps a ``PresenceState`` of its own sockets, the truth it writes to
/// Redis; answers come from the union of all nodes. A node that stops its heartbeat for
/// the registry's ttl is reaped by another: its users go offline and stop viewing, and
/// that node broadcasts the changes (``remoteChanges()``).
///
/// While Redis is unreachable a node answers from its own sockets only; when Redis is
/// back it writes its share again (so does a node others had reaped) and broadcasts what
/// that changed.
public final class RedisPresence: PresenceStore, Service {
    let backend: RedisBackend
    let registry: RedisNodeRegistry
    let logger: Logger
    private let local = Mutex(PresenceState())
    private let prefix: String
    private let changes: AsyncStream<PresenceChange>
    private let changesContinuation: AsyncStream<PresenceChange>.Continuation
    /// The backend generation this node's share was written for (-1: write it again).
    private let writtenGeneration = Mutex(-1)

    public init(backend: RedisBackend, registry: RedisNodeRegistry, logger: Logger) {
        self.backend = backend
        self.registry = registry
        self.logger = logger
        self.prefix = backend.key("presence")
        (changes, changesContinuation) = AsyncStream.makeStream()
    }

    private var node: String { backend.nodeID }
    private var now: RedisArgument { RedisArgument(registry.now) }
    private var registryKey: RedisArgument { RedisArgument(registry.key) }

    // MARK: PresenceStore

    public func connect(socketId: String, userId: String, name: String) async -> PresenceState.UserPresence? {
        let (change, sockets) = local.withLock { ($0.connect(socketId: socketId, userId: userId, name: name), $0.sockets(of: userId)) }
        return await shared(userId: userId, name: name, sockets: sockets, chosen: nil) ?? change
    }

    public func disconnect(socketId: String) async -> (presence: PresenceState.UserPresence?, viewers: [PresenceState.ViewersChange]) {
        let (user, viewing, change) = local.withLock { state in
            (state.user(of: socketId), state.viewing(of: socketId), state.disconnect(socketId: socketId))
        }
        guard let user, backend.isConnected else { return change }
        var viewers: [PresenceState.ViewersChange] = []
        for conversationId in viewing.sorted() {
            let count = local.withLock { $0.viewingSockets(userId: user.userId, conversationId: conversationId) }
            switch await sharedViewing(conversationId, userId: user.userId, sockets: count) {
            case .some(let shared): viewers += shared.map { [$0] } ?? []
            case .none: viewers += change.viewers.filter { $0.conversationId == conversationId }
            }
        }
        let sockets = local.withLock { $0.sockets(of: user.userId) }
        let presence = await shared(userId: user.userId, name: user.name, sockets: sockets, chosen: nil)
        return (presence ?? change.presence, viewers)
    }

    public func set(_ status: PresenceState.Status, socketId: String) async -> PresenceState.UserPresence? {
        let (change, user, sockets) = local.withLock { state in
            let change = state.set(status, socketId: socketId)
            let user = state.user(of: socketId)
            return (change, user, user.map { state.sockets(of: $0.userId) } ?? 0)
        }
        guard let user else { return nil }
        return await shared(userId: user.userId, name: user.name, sockets: sockets, chosen: status) ?? change
    }

    public func startViewing(socketId: String, conversationId: String) async -> PresenceState.ViewersChange? {
        await viewing(socketId: socketId, conversationId: conversationId) { $0.startViewing(socketId: socketId, conversationId: conversationId) }
    }

    public func stopViewing(socketId: String, conversationId: String) async -> PresenceState.ViewersChange? {
        await viewing(socketId: socketId, conversationId: conversationId) { $0.stopViewing(socketId: socketId, conversationId: conversationId) }
    }

    public func viewers(of conversationId: String) async -> [PresenceState.Viewer] {
        guard backend.isConnected,
            let flat = try? await backend.client.evalScript(
                RedisPresenceScripts.viewersOf,
                keys: [registryKey],
                arguments: [RedisArgument(prefix), RedisArgument(conversationId)],
                as: [String].self
            )
        else { return local.withLock { $0.viewers(of: conversationId) } }
        return Self.viewers(flat)
    }

    public func snapshot() async -> [PresenceState.UserPresence] {
        guard backend.isConnected,
            let flat = try? await backend.client.evalScript(
                RedisPresenceScripts.snapshot,
                keys: [registryKey],
                arguments: [RedisArgument(prefix)],
                as: [String].self
            )
        else { return local.withLock { $0.snapshot } }
        return stride(from: 0, to: flat.count - 2, by: 3).compactMap { i in
            guard let status = PresenceState.Status(rawValue: flat[i + 2]), status != .offline else { return nil }
            return PresenceState.UserPresence(userId: flat[i], name: flat[i + 1], status: status)
        }.sorted { ($0.name, $0.userId) < ($1.name, $1.userId) }
    }

    public func remoteChanges() -> AsyncStream<PresenceChange> { changes }

    // MARK: Writing this node's share

    /// Writes one user's share: `.some(the user's new presence, or nil when it did not
    /// change for everyone)`, or `.none` when Redis could not be asked (the caller then
    /// uses its own view).
    private func shared(userId: String, name: String, sockets: Int, chosen: PresenceState.Status?) async -> PresenceState.UserPresence?? {
        guard backend.isConnected else {
            writtenGeneration.withLock { $0 = -1 }
            return .none
        }
        do {
            let reply = try await backend.client.evalScript(
                RedisPresenceScripts.setUser,
                keys: [registryKey],
                arguments: [
                    RedisArgument(prefix), RedisArgument(node), now, RedisArgument(userId), RedisArgument(name),
                    RedisArgument(sockets), RedisArgument(chosen?.rawValue ?? ""),
                ],
                as: [String].self
            )
            guard reply.count == 4 else { return .none }
            if reply[0] == "0" { await writeShare() }
            guard reply[1] != reply[2], let status = PresenceState.Status(rawValue: reply[2]) else { return .some(nil) }
            return .some(PresenceState.UserPresence(userId: userId, name: reply[3], status: status))
        } catch {
            writtenGeneration.withLock { $0 = -1 }
            logger.debug("presence not shared; answering from this node", metadata: ["error": "\(error)"])
            return .none
        }
    }

    private func viewing(
        socketId: String,
        conversationId: String,
        _ mutate: (inout PresenceState) -> PresenceState.ViewersChange?
    ) async -> PresenceState.ViewersChange? {
        let (change, userId, count) = local.withLock { state in
            let change = mutate(&state)
            let userId = state.user(of: socketId)?.userId
            return (change, userId, userId.map { state.viewingSockets(userId: $0, conversationId: conversationId) } ?? 0)
        }
        guard let userId else { return nil }
        switch await sharedViewing(conversationId, userId: userId, sockets: count) {
        case .some(let shared): return shared
        case .none: return change
        }
    }

    /// Writes a user's viewing of one conversation: `.some(change or nil)` from Redis,
    /// `.none` when Redis could not be asked.
    private func sharedViewing(_ conversationId: String, userId: String, sockets: Int) async -> PresenceState.ViewersChange?? {
        guard backend.isConnected else { return .none }
        do {
            let reply = try await backend.client.evalScript(
                RedisPresenceScripts.setViewing,
                keys: [registryKey],
                arguments: [
                    RedisArgument(prefix), RedisArgument(node), now, RedisArgument(conversationId), RedisArgument(userId),
                    RedisArgument(sockets),
                ]
            )
            guard let parts = reply.elements, parts.count == 3 else { return .none }
            if parts[0].string == "0" { await writeShare() }
            guard parts[1].string == "1" else { return .some(nil) }
            let flat = (try? [String](fromRESP: parts[2])) ?? []
            return .some(PresenceState.ViewersChange(conversationId: conversationId, viewers: Self.viewers(flat)))
        } catch {
            writtenGeneration.withLock { $0 = -1 }
            return .none
        }
    }

    static func viewers(_ flat: [String]) -> [PresenceState.Viewer] {
        stride(from: 0, to: flat.count - 1, by: 2).map { PresenceState.Viewer(userId: flat[$0], name: flat[$0 + 1]) }
            .sorted { ($0.name, $0.userId) < ($1.name, $1.userId) }
    }

    /// Writes this node's whole share again and broadcasts what that changed.
    func writeShare() async {
        let contribution = local.withLock { $0.contribution }
        let share = Share(
            users: contribution.users.mapValues { [ShareValue.text($0.name), .count($0.sockets)] },
            viewing: contribution.viewing,
            chosen: contribution.chosen.mapValues(\.rawValue)
        )
        guard let json = try? JSONEncoder().encode(share) else { return }
        let generation = backend.generation
        if await replace(node: node, share: String(decoding: json, as: UTF8.self), deadline: nil) {
            writtenGeneration.withLock { $0 = generation }
        }
    }

    /// Runs ``RedisPresenceScripts/replaceShare`` and yields its changes; false on failure.
    private func replace(node: String, share: String, deadline: Int64?) async -> Bool {
        do {
            let reply = try await backend.client.evalScript(
                RedisPresenceScripts.replaceShare,
                keys: [registryKey],
                arguments: [RedisArgument(prefix), RedisArgument(node), now, RedisArgument(share), RedisArgument(deadline ?? 0)],
                as: String.self
            )
            guard !reply.isEmpty, let changed = try? JSONDecoder().decode(ShareChanges.self, from: Data(reply.utf8)) else { return true }
            if share.isEmpty {
                logger.notice("a node stopped its heartbeat; its users went offline", metadata: ["node": "\(node)"])
            }
            for (userId, entry) in changed.users.sorted(by: { $0.key < $1.key }) {
                guard entry.count == 2, let status = PresenceState.Status(rawValue: entry[1]) else { continue }
                changesContinuation.yield(.user(PresenceState.UserPresence(userId: userId, name: entry[0], status: status)))
            }
            for (conversationId, viewers) in changed.viewers.sorted(by: { $0.key < $1.key }) {
                let list = viewers.map { PresenceState.Viewer(userId: $0.key, name: $0.value) }.sorted { ($0.name, $0.userId) < ($1.name, $1.userId) }
                changesContinuation.yield(.viewers(PresenceState.ViewersChange(conversationId: conversationId, viewers: list)))
            }
            return true
        } catch {
            logger.debug("presence share not written", metadata: ["node": "\(node)", "error": "\(error)"])
            return false
        }
    }

    // MARK: Upkeep

    /// Every heartbeat: writes this node's share when Redis came back (or the node was
    /// reaped), and reaps nodes whose heartbeat stopped.
    public func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.upkeep()
                try? await Task.sleep(for: self.registry.heartbeat)
            }
        }
        changesContinuation.finish()
    }

    func upkeep() async {
        guard backend.isConnected else { return }
        do {
            let alive = try await backend.client.send(.exists(RedisArgument(prefix + ":alive:" + node)))
            if alive == 0 || writtenGeneration.withLock({ $0 != backend.generation }) { await writeShare() }
            for dead in try await registry.deadNodes() where dead != node {
                let deadline = registry.now - registry.ttlMilliseconds
                _ = await replace(node: dead, share: "", deadline: deadline)
            }
        } catch {
            logger.debug("presence upkeep failed", metadata: ["error": "\(error)"])
        }
    }

    /// The JSON share ``RedisPresenceScripts/replaceShare`` takes.
    private struct Share: Encodable {
        var users: [String: [ShareValue]]
        var viewing: [String: [String: Int]]
        var chosen: [String: String]
    }

    private enum ShareValue: Encodable {
        case text(String)
        case count(Int)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .count(let count): try container.encode(count)
            }
        }
    }

    private struct ShareChanges: Decodable {
        var users: [String: [String]]
        var viewers: [String: [String: String]]
    }
}
