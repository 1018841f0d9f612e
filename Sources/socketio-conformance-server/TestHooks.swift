import SocketIO

/// The `/test` namespace the Python and browser interop tests drive.
///
/// Middleware: `auth.token` must be `"secret"` (else `connect_error` "bad token" with data
/// `{"reason":"token"}`). Events: `echo` (ack with the arguments), `join`/`leave` a room
/// (ack), `rooms` (ack with the sorted rooms), `to-room` `{room, event, data}` (broadcast
/// to the room, sender excluded unless `includeSelf`), `ask` (the server emits `question`
/// with an ack and then emits `answer` with the client's reply), `binary` (ack with the
/// bytes reversed), `drop` (server closes the transport), `bye` (server namespace
/// disconnect), `drop-and-broadcast` `{target, room, count}` (close `target`'s transport,
/// then emit `seq` 1...count to the room).
enum TestHooks {
    static func install(on io: SocketIOServer) {
        let test = io.of("/test")
        test.use { socket in
            guard socket.handshake.auth["token"]?.stringValue == "secret" else {
                throw SocketIOConnectError("bad token", data: ["reason": "token"])
            }
        }
        test.onConnection { socket in
            socket.emit("welcome", ["id": .string(socket.id), "recovered": .bool(socket.recovered)])
            socket.on("echo") { event in event.ack?.send(arguments: event.arguments) }
            socket.on("join") { event in
                guard let room = event.arguments.first?.stringValue else { return }
                socket.join(room)
                event.ack?.send("joined", .string(room))
            }
            socket.on("leave") { event in
                guard let room = event.arguments.first?.stringValue else { return }
                socket.leave(room)
                event.ack?.send("left", .string(room))
            }
            socket.on("rooms") { event in
                event.ack?.send(.array(socket.rooms.sorted().map { .string($0) }))
            }
            socket.on("to-room") { event in
                guard let request = event.arguments.first, let room = request["room"]?.stringValue,
                    let name = request["event"]?.stringValue
                else { return }
                let data = request["data"] ?? .null
                if request["includeSelf"] == .bool(true) {
                    test.to(room).emit(name, data)
                } else {
                    socket.to(room).emit(name, data)
                }
                event.ack?.send("sent")
            }
            socket.on("ask") { event in
                let reply = try await socket.emitWithAck("question", arguments: event.arguments, timeout: .seconds(5))
                socket.emit("answer", arguments: reply)
            }
            socket.on("binary") { event in
                guard case .binary(let bytes) = event.arguments.first else { return }
                event.ack?.send(.binary(ByteBufferReversal.reversed(bytes)), "binary-ok")
            }
            socket.on("drop") { _ in socket.closeTransport() }
            socket.on("bye") { _ in socket.disconnect() }
            socket.on("drop-and-broadcast") { event in
                guard let request = event.arguments.first, let target = request["target"]?.stringValue,
                    let room = request["room"]?.stringValue, case .int(let count) = request["count"]
                else { return }
                test.socket(id: target)?.closeTransport()
                for index in 1...max(1, count) { test.to(room).emit("seq", .int(index)) }
                event.ack?.send("done")
            }
        }
    }
}
