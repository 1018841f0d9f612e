import Foundation
import RESP
import SocketIO

/// The adapter of one namespace when several nodes serve Socket.IO.
///
/// Rooms are kept for this node's sockets (in an in-memory adapter). A broadcast is
/// appended to the namespace's packet stream in Redis; every node, this one included,
/// reads the stream and delivers each entry to its own matching sockets, so an event
/// emitted anywhere reaches each targeted socket once, in the same order everywhere. A
/// recoverable event's stream id is its recovery offset, and disconnected sessions are
/// kept in Redis: a client that comes back on another node gets what it missed.
///
/// While Redis is unreachable broadcasts are delivered to this node's sockets directly
/// (and recovery works on this node only, from the in-memory adapter).
final class RedisSocketIOAdapter: SocketIOAdapter {
    let context: SocketIOAdapterContext
    let local: SocketIOInMemoryAdapter
    unowned let cluster: RedisSocketIOCluster

    init(context: SocketIOAdapterContext, cluster: RedisSocketIOCluster) {
        self.context = context
        self.local = SocketIOInMemoryAdapter(context: context)
        self.cluster = cluster
    }

    var namespace: String { context.namespace }

    func addAll(_ socketID: String, to rooms: Set<String>) { local.addAll(socketID, to: rooms) }
    func delete(_ socketID: String, from room: String) { local.delete(socketID, from: room) }
    func deleteAll(_ socketID: String) { local.deleteAll(socketID) }
    func rooms(of socketID: String) -> Set<String> { local.rooms(of: socketID) }

    func localSocketIDs(matching options: SocketIOBroadcastOptions) -> Set<String> {
        local.localSocketIDs(matching: options)
    }

    /// This node's sockets and every other live node's answer (nodes that do not answer in
    /// time are left out).
    func socketIDs(matching options: SocketIOBroadcastOptions) async throws -> Set<String> {
        let remote = await cluster.ask(.sockets(options), namespace: namespace)
        return remote.union(local.localSocketIDs(matching: options))
    }

    func allRooms() async throws -> Set<String> {
        let remote = await cluster.ask(.rooms, namespace: namespace)
        return remote.union(try await local.allRooms())
    }

    func broadcast(_ broadcast: SocketIOBroadcast) {
        guard !broadcast.options.local, cluster.submit(broadcast, from: self) else {
            local.broadcast(broadcast)
            return
        }
    }

    /// Delivers an entry read from the stream to this node's matching sockets.
    func deliver(_ broadcast: SocketIOBroadcast) {
        let recipients = local.localSocketIDs(matching: broadcast.options)
        if !recipients.isEmpty { context.deliver(broadcast.packet, to: recipients) }
    }

    func persistSession(_ snapshot: SocketIOSessionSnapshot) {
        local.persistSession(snapshot)
        cluster.persist(snapshot, namespace: namespace)
    }

    /// From Redis when the offset is a stream id (any node may have served the client);
    /// from this node's memory when it was delivered while Redis was unreachable.
    func restoreSession(pid: String, offset: String) async throws -> SocketIORestoredSession? {
        guard RedisSocketIOCluster.isStreamID(offset) else {
            return try await local.restoreSession(pid: pid, offset: offset)
        }
        return try await cluster.restore(pid: pid, offset: offset, namespace: namespace)
    }
}
