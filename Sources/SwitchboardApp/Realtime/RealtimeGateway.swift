import Foundation
import Logging
import ServiceLifecycle
import SocketIO
import SwitchboardCore
import SwitchboardRedis
import Synchronization

/// Switchboard on Socket.IO (docs/accounts-realtime.md): authenticates handshakes, puts
/// each socket in the rooms of what it may see, relays the events workers commit (after
/// commit, invariant 6), and keeps presence, viewers and typing live. The Socket.IO
/// server itself knows nothing of this. With Redis, the cluster adapter carries every
/// emit to the sockets of all nodes, presence is shared, and commands that concern every
/// node (disconnect a signed-out user's sockets) go through the cluster.
final class RealtimeGateway: Service {
    let io: SocketIOServer
    private let hub: EventHub
    private let authenticator: Authenticator
    private let pages: ConversationPageCache
    private let typing: TypingRelay
    private let presence: any PresenceStore
    private let cluster: RedisSocketIOCluster?
    private let webhookTest = Mutex<WebhookTest?>(nil)
    private let logger: Logger
    /// The cluster command that disconnects a room's sockets on every node.
    static let disconnectCommand = "disconnect-room"

    /// Who a socket belongs to, kept in `socket.data` (and so restored with it on recovery).
    struct Caller: Codable, Sendable {
        /// The user's id; `nil` for an API-token integration (no presence, no viewing).
        var userId: String?
        var name: String
        var sessionId: Int64?
        var principal: String
        /// The Pages the caller may see; `nil` for all.
        var pageIds: [String]?
        /// Admins (and API tokens) may run admin requests such as `webhook:test`; a role
        /// change disconnects the user's sockets, so this never outlives the role.
        var isAdmin: Bool?

        init(_ identity: Identity) {
            isAdmin = identity.isAdmin
            userId = identity.user?.id
            name = identity.user?.displayName ?? String(identity.principal.dropFirst("token:".count))
            if case .user(_, let session) = identity { sessionId = session }
            principal = identity.principal
            if case .only(let pages) = identity.visibility { pageIds = pages.sorted() }
        }

        var visibility: PageVisibility { pageIds.map { .only(Set($0)) } ?? .all }
        /// The name typing and viewer events carry.
        var actorId: String { userId ?? principal }

        var rooms: [String] {
            var rooms = ["agents", "principal:\(principal)"]
            if let userId { rooms.append("user:\(userId)") }
            if let sessionId { rooms.append("session:\(sessionId)") }
            if let pageIds { rooms += pageIds.map { "page:\($0)" } } else { rooms.append("pages:all") }
            return rooms
        }
    }

    init(
        io: SocketIOServer,
        hub: EventHub,
        authenticator: Authenticator,
        pages: ConversationPageCache,
        typing: TypingRelay,
        presence: any PresenceStore,
        cluster: RedisSocketIOCluster?,
        logger: Logger
    ) {
        self.io = io
        self.hub = hub
        self.authenticator = authenticator
        self.pages = pages
        self.typing = typing
        self.presence = presence
        self.cluster = cluster
        self.logger = logger
        cluster?.onCommand { [io] name, room in
            if name == Self.disconnectCommand { io.to(room).disconnectSockets() }
        }
        io.use { [authenticator] socket in
            socket.data = try SocketIOValue(encoding: Caller(try await Self.authenticate(socket.handshake, authenticator)))
        }
        io.onConnection { [weak self] socket in await self?.connected(socket) }
    }

    /// Relays committed events, broadcasts presence changes other nodes caused, and ticks
    /// the typing indicators until shutdown.
    func run() async {
        let events = hub.subscribe()
        let remote = presence.remoteChanges()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in events { await self.relay(event) }
                }
                group.addTask {
                    for await change in remote {
                        switch change {
                        case .user(let user): self.broadcastPresence(user)
                        case .viewers(let viewers): await self.broadcastViewers(viewers)
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        await self.typing.tick()
                    }
                }
                await group.waitForAll()
            }
        }
    }

    /// Disconnects every socket in a room at once (sign-out, a disabled user), on every node.
    func disconnect(room: String) async {
        if let cluster, await cluster.publishCommand(Self.disconnectCommand, room) { return }
        io.to(room).disconnectSockets()
    }

    /// Sockets connected to this process.
    var socketCount: Int { io.statistics.sockets }

    /// People signed in (on every node with Redis), by the status they chose.
    func presenceCounts() async -> (online: Int, away: Int) {
        let users = await presence.snapshot()
        return (users.count { $0.status == .online }, users.count { $0.status == .away })
    }

    /// Answers `webhook:test` {pageId} from admins' sockets with the test's report. Over the
    /// socket the test runs even while the database is down (the socket was authenticated
    /// when it connected), so it can say so instead of failing to start.
    func serveWebhookTests(with test: WebhookTest) {
        webhookTest.withLock { $0 = test }
    }

    /// A live event (not logged: it means nothing a minute later) for a conversation's
    /// viewers and its Page's inbox lists, such as `bot:typing`.
    func emitLive(_ name: String, conversationId: String, _ payload: SocketIOValue) async {
        io.mainNamespace.broadcast.to(await rooms(conversationId)).emit(name, arguments: [payload])
    }

    // MARK: Handshake

    static func authenticate(_ handshake: SocketIOHandshake, _ authenticator: Authenticator) async throws -> Identity {
        do {
            if let token = handshake.auth["token"]?.stringValue {
                return try await authenticator.identity(apiToken: token)
            }
            return try await authenticator.identity(cookieHeader: handshake.headers["cookie"]).0
        } catch let refusal as Authenticator.Refusal {
            throw SocketIOConnectError("not signed in: \(refusal.message)", data: ["code": .string(refusal.code)])
        }
    }

    // MARK: Connection

    private func connected(_ socket: SocketIOSocket) async {
        guard let caller = try? socket.data.decode(as: Caller.self) else {
            socket.disconnect()
            return
        }
        socket.join(caller.rooms)
        if let userId = caller.userId {
            if let came = await presence.connect(socketId: socket.id, userId: userId, name: caller.name) { broadcastPresence(came) }
            // A recovered socket is back in its conversation rooms: it views them again.
            for room in socket.rooms where room.hasPrefix("conversation:") {
                let id = String(room.dropFirst("conversation:".count))
                if let change = await presence.startViewing(socketId: socket.id, conversationId: id) {
                    await broadcastViewers(change)
                }
            }
        }
        socket.emit("presence:snapshot", (try? SocketIOValue(encoding: ["users": await presence.snapshot()])) ?? .null)

        socket.on("join:conversation") { [weak self] event in
            guard let self else { return }
            let answer = await self.join(socket, caller: caller, argument: event.arguments.first)
            event.ack?.send(answer)
        }
        socket.on("leave:conversation") { [weak self] event in
            guard let self, let id = Self.conversationId(event.arguments.first) else {
                event.ack?.send(Self.failure("invalid_argument", "Give the conversation id."))
                return
            }
            socket.leave("conversation:\(id)")
            if let change = await self.presence.stopViewing(socketId: socket.id, conversationId: id) {
                await self.broadcastViewers(change)
            }
            event.ack?.send(["ok": true])
        }
        for (name, starting) in [("typing:start", true), ("typing:stop", false)] {
            socket.on(name) { [weak self] event in
                guard let self else { return }
                guard let id = Self.conversationId(event.arguments.first), socket.rooms.contains("conversation:\(id)") else {
                    event.ack?.send(Self.failure("not_joined", "Join the conversation (join:conversation) before typing in it."))
                    return
                }
                let payload: SocketIOValue = ["userId": .string(caller.actorId), "conversationId": .string(id)]
                socket.to("conversation:\(id)").emit(name, payload)
                if starting {
                    await self.typing.start(userId: caller.actorId, conversationId: id)
                } else {
                    await self.typing.stop(userId: caller.actorId, conversationId: id)
                }
                event.ack?.send(["ok": true])
            }
        }
        socket.on("presence:update") { [weak self] event in
            guard let self else { return }
            let raw = event.arguments.first?["status"]?.stringValue ?? event.arguments.first?.stringValue
            guard let status = raw.flatMap(PresenceState.Status.init(rawValue:)) else {
                event.ack?.send(Self.failure("invalid_argument", "status must be online, away or offline."))
                return
            }
            if let change = await self.presence.set(status, socketId: socket.id) { self.broadcastPresence(change) }
            event.ack?.send(["ok": true])
        }
        socket.on("webhook:test") { [weak self] event in
            guard let self else { return }
            guard caller.isAdmin == true else {
                event.ack?.send(Self.failure("forbidden", "Only an admin may test the webhook."))
                return
            }
            guard let pageId = event.arguments.first?["pageId"]?.stringValue, !pageId.isEmpty else {
                event.ack?.send(Self.failure("invalid_argument", "Give the Page: {pageId}."))
                return
            }
            guard let test = self.webhookTest.withLock({ $0 }) else {
                event.ack?.send(Self.failure("unavailable", "This process does not run the webhook test."))
                return
            }
            event.ack?.send((try? SocketIOValue(encoding: await test.run(pageId: pageId))) ?? .null)
        }
        socket.onDisconnect { [weak self] _ in
            guard let self else { return }
            let (went, viewers) = await self.presence.disconnect(socketId: socket.id)
            if let went { self.broadcastPresence(went) }
            for change in viewers { await self.broadcastViewers(change) }
        }
    }

    private func join(_ socket: SocketIOSocket, caller: Caller, argument: SocketIOValue?) async -> SocketIOValue {
        guard let id = Self.conversationId(argument) else { return Self.failure("invalid_argument", "Give the conversation id.") }
        do {
            guard let page = try await pages.pageId(of: id), caller.visibility.allows(page) else {
                return Self.failure("not_found", "No conversation \(id) that you may see.")
            }
        } catch {
            logger.warning("join:conversation failed", metadata: ["conversation": "\(id)", "error": "\(error)"])
            return Self.failure("unavailable", "The conversation cannot be read right now; try again.")
        }
        socket.join("conversation:\(id)")
        var viewers = await presence.viewers(of: id)
        if caller.userId != nil, let change = await presence.startViewing(socketId: socket.id, conversationId: id) {
            viewers = change.viewers
            await broadcastViewers(change)
        }
        return (try? SocketIOValue(encoding: JoinAnswer(ok: true, conversationId: id, viewers: viewers))) ?? .null
    }

    // MARK: Broadcasting

    /// An event the workers committed, to the conversation's room and the inbox lists of
    /// the Pages it belongs to; the log id goes second so a client knows where to resume.
    private func relay(_ event: RealtimeEvent) async {
        let payload: SocketIOValue
        do {
            payload = try SocketIOJSON.parse(event.payload, maxDepth: 64)
        } catch {
            logger.error("a realtime event's payload is not JSON", metadata: ["event": "\(event.id)", "name": "\(event.name)"])
            return
        }
        guard let conversationId = event.conversationId else {
            io.to("agents").emit(event.name, payload, .string(String(event.id)))
            return
        }
        if event.name == "message:new", payload["message"]?["direction"]?.stringValue == MessageDirection.outbound.rawValue {
            typing.messageSent(conversationId: conversationId)
        }
        io.mainNamespace.broadcast.to(await rooms(conversationId)).emit(event.name, arguments: [payload, .string(String(event.id))])
    }

    private func rooms(_ conversationId: String) async -> [String] {
        var rooms = ["conversation:\(conversationId)", "pages:all"]
        if let page = try? await pages.pageId(of: conversationId) { rooms.append("page:\(page)") }
        return rooms
    }

    private func broadcastPresence(_ presence: PresenceState.UserPresence) {
        try? io.to("agents").emit("presence:update", encoding: presence)
    }

    private func broadcastViewers(_ change: PresenceState.ViewersChange) async {
        try? io.mainNamespace.broadcast.to(await rooms(change.conversationId)).emit("conversation:viewers", encoding: change)
    }

    static func conversationId(_ argument: SocketIOValue?) -> String? {
        switch argument {
        case .string(let id) where Int64(id) != nil: id
        case .int(let id): String(id)
        case .object: conversationId(argument?["conversationId"])
        default: nil
        }
    }

    static func failure(_ code: String, _ message: String) -> SocketIOValue {
        ["error": ["code": .string(code), "message": .string(message)]]
    }

    struct JoinAnswer: Encodable {
        var ok: Bool
        var conversationId: String
        var viewers: [PresenceState.Viewer]
    }
}
