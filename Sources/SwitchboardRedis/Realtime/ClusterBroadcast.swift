import EngineIO
import Foundation
import NIOCore
import RESP
import SocketIO

/// A broadcast as one entry of a namespace's packet stream: who sent it, the packet in
/// Socket.IO's text form (binary attachments base64 in `b0`, `b1`…), its targeting, and
/// whether it is kept for connection-state recovery (the entry id is then its offset).
struct ClusterBroadcast: Sendable {
    var broadcast: SocketIOBroadcast
    /// The node that emitted it, and its number there (to skip one that node already
    /// delivered itself while Redis was unreachable).
    var origin: String
    var sequence: UInt64

    /// Names it among all nodes' broadcasts (to deliver it once, however often it comes).
    var key: String { "\(origin)#\(sequence)" }

    /// Whether recovery stores it: an EVENT without ack id, not volatile (the in-memory
    /// adapter's rule).
    static func isRecoverable(_ broadcast: SocketIOBroadcast) -> Bool {
        let packet = broadcast.packet
        return (packet.type == .event || packet.type == .binaryEvent) && packet.id == nil && !broadcast.options.volatile
    }

    var fields: [(name: RedisArgument, value: RedisArgument)] {
        let frames = broadcast.packet.encode()
        var fields: [(name: RedisArgument, value: RedisArgument)] = [
            ("node", RedisArgument(origin)),
            ("seq", RedisArgument(String(sequence))),
            ("recover", Self.isRecoverable(broadcast) ? "1" : "0"),
            ("opts", RedisArgument(String(decoding: (try? JSONEncoder().encode(broadcast.options)) ?? Data("{}".utf8), as: UTF8.self))),
        ]
        for (index, frame) in frames.enumerated() {
            switch frame {
            case .text(let buffer): fields.append(("packet", RedisArgument(String(buffer: buffer))))
            case .binary(let buffer):
                fields.append((RedisArgument("b\(index - 1)"), RedisArgument(Data(buffer.readableBytesView).base64EncodedString())))
            }
        }
        return fields
    }

    /// Decodes an entry; nil for one that is not a broadcast (or was damaged).
    init?(entry: RedisStreamEntry) {
        guard let origin = entry["node"], let sequence = entry["seq"].flatMap({ UInt64($0) }), let text = entry["packet"],
            let options = entry["opts"].flatMap({ try? JSONDecoder().decode(SocketIOBroadcastOptions.self, from: Data($0.utf8)) })
        else { return nil }
        // The text form starts with Engine.IO's message type `4`; attachments follow in
        // `b0`, `b1`….
        var decoder = SocketIOPacketDecoder(maxAttachments: 64, maxDepth: 64)
        var decoded: SocketIOPacket?
        do {
            decoded = try decoder.decode(.text(String(text.dropFirst())))
            var index = 0
            while decoded == nil, let encoded = entry["b\(index)"], let bytes = Data(base64Encoded: encoded) {
                decoded = try decoder.decode(.binary(ByteBuffer(bytes: bytes)))
                index += 1
            }
        } catch {
            return nil
        }
        guard var packet = decoded else { return nil }
        if entry["recover"] == "1", case .array(var items) = packet.data {
            items.append(.string(entry.id))
            packet.data = .array(items)
        }
        self.broadcast = SocketIOBroadcast(packet: packet, options: options)
        self.origin = origin
        self.sequence = sequence
    }

    init(broadcast: SocketIOBroadcast, origin: String, sequence: UInt64) {
        self.broadcast = broadcast
        self.origin = origin
        self.sequence = sequence
    }
}

/// The last `capacity` keys seen, oldest forgotten first.
struct RecentKeys: Sendable {
    private var keys: Set<String> = []
    private var order: [String] = []
    private var oldest = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func contains(_ key: String) -> Bool { keys.contains(key) }

    /// Remembers `key`; false when it was known already.
    @discardableResult
    mutating func insert(_ key: String) -> Bool {
        guard keys.insert(key).inserted else { return false }
        order.append(key)
        if order.count - oldest > capacity {
            keys.remove(order[oldest])
            oldest += 1
            if oldest > capacity {
                order.removeFirst(oldest)
                oldest = 0
            }
        }
        return true
    }
}
