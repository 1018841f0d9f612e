/// Reads the Engine.IO / Socket.IO text frames a server sends, straight from the frame's
/// bytes (no JSON parsing: the generator must stay cheaper than the server it measures).
struct SocketIOFrameReader: Sendable {
    /// What one text frame is.
    enum Packet: Equatable {
        case open
        case close
        case ping
        case connect
        case connectError(String)
        case disconnect
        /// An EVENT of our namespace; `data` is the index of its `[`.
        case event(data: Int)
        case ack(id: Int)
        /// Anything else (noop, pong, other namespaces, binary headers).
        case other
    }

    /// The namespace as it appears in packets (`/test,`), empty for the main namespace.
    let namespacePrefix: [UInt8]

    init(namespace: String) {
        namespacePrefix = namespace == "/" ? [] : Array((namespace + ",").utf8)
    }

    func read(_ bytes: UnsafeRawBufferPointer) -> Packet {
        guard let engineType = bytes.first else { return .other }
        switch engineType {
        case UInt8(ascii: "0"): return .open
        case UInt8(ascii: "1"): return .close
        case UInt8(ascii: "2"): return bytes.count == 1 ? .ping : .other
        case UInt8(ascii: "4"): break
        default: return .other
        }
        guard bytes.count >= 2 else { return .other }
        var index = 2
        if bytes.count > index, bytes[index] == UInt8(ascii: "/") {
            guard bytes.starts(with: namespacePrefix, at: index) else { return .other }
            index += namespacePrefix.count
        } else if !namespacePrefix.isEmpty {
            return .other
        }
        var id: Int?
        while index < bytes.count, let digit = bytes[index].decimalDigit {
            id = (id ?? 0) * 10 + digit
            index += 1
        }
        switch bytes[1] {
        case UInt8(ascii: "0"): return .connect
        case UInt8(ascii: "1"): return .disconnect
        case UInt8(ascii: "2"): return .event(data: index)
        case UInt8(ascii: "3"): return id.map { .ack(id: $0) } ?? .other
        case UInt8(ascii: "4"): return .connectError(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index...]), as: UTF8.self))
        default: return .other
        }
    }
}

/// Finds an event's name and a wall-clock timestamp in its payload.
struct LatencyProbe: Sendable {
    /// `["name"`: what an EVENT's data starts with.
    let eventPrefix: [UInt8]
    /// `"key":`, or nil when the first argument is the timestamp itself.
    let keyPattern: [UInt8]?

    init(event: String, timestampKey: String?) {
        eventPrefix = Array("[\"\(event)\"".utf8)
        keyPattern = timestampKey.map { Array("\"\($0)\":".utf8) }
    }

    func matches(_ bytes: UnsafeRawBufferPointer, data: Int) -> Bool {
        bytes.starts(with: eventPrefix, at: data)
    }

    /// The timestamp (milliseconds since the epoch) of a matching event: the number after
    /// the key (or the first argument); for a string value, its first run of digits (so
    /// `"m_1764000000000_7"` gives 1764000000000).
    func timestamp(_ bytes: UnsafeRawBufferPointer, data: Int) -> Double? {
        var index = data + eventPrefix.count
        if let keyPattern {
            guard let found = bytes.firstIndex(of: keyPattern, from: index) else { return nil }
            index = found + keyPattern.count
        } else {
            guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index].decimalDigit == nil { index += 1 }
        }
        return bytes.number(at: index)
    }
}

extension UInt8 {
    var decimalDigit: Int? {
        self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") ? Int(self - UInt8(ascii: "0")) : nil
    }
}

extension UnsafeRawBufferPointer {
    func starts(with prefix: [UInt8], at index: Int) -> Bool {
        guard index + prefix.count <= count else { return false }
        for offset in 0..<prefix.count where self[index + offset] != prefix[offset] { return false }
        return true
    }

    func firstIndex(of pattern: [UInt8], from start: Int) -> Int? {
        guard let first = pattern.first, count >= pattern.count else { return nil }
        var index = start
        while index + pattern.count <= count {
            if self[index] == first, starts(with: pattern, at: index) { return index }
            index += 1
        }
        return nil
    }

    /// A decimal number (digits, an optional fraction) starting at `index`.
    func number(at index: Int) -> Double? {
        var index = index
        var whole: Double = 0
        var digits = 0
        while index < count, let digit = self[index].decimalDigit {
            whole = whole * 10 + Double(digit)
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        if index < count, self[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < count, let digit = self[index].decimalDigit {
                whole += Double(digit) * scale
                scale /= 10
                index += 1
            }
        }
        return whole
    }
}
