/// What the layer above may know about the HTTP request that opened a session.
public struct EngineIORequest: Sendable, Hashable {
    /// Query parameters (last value wins).
    public var query: [String: String]
    /// Header fields, names lower-cased, repeated fields joined with ", ".
    public var headers: [String: String]
    /// The peer address, when known.
    public var remoteAddress: String?

    public init(query: [String: String], headers: [String: String] = [:], remoteAddress: String? = nil) {
        self.query = query
        self.headers = headers
        self.remoteAddress = remoteAddress
    }

    /// The request as an HTTP binding sees it: the target (path and query) and the header
    /// fields in order. Names are lower-cased; a repeated field is joined with ", " (cookies
    /// with "; ").
    public init(target: String, headerFields: some Sequence<(name: String, value: String)>, remoteAddress: String? = nil) {
        var headers: [String: String] = [:]
        for (name, value) in headerFields {
            let name = name.lowercased()
            if let existing = headers[name] {
                headers[name] = existing + (name == "cookie" ? "; " : ", ") + value
            } else {
                headers[name] = value
            }
        }
        let query = target.firstIndex(of: "?").map { target[target.index(after: $0)...] } ?? ""
        self.init(query: Self.parseQuery(query), headers: headers, remoteAddress: remoteAddress)
    }

    /// Parses `a=1&b=2` (percent-decoding, `+` as space).
    public static func parseQuery(_ query: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(parts[0])
            let value = parts.count > 1 ? percentDecode(parts[1]) : ""
            result[key] = value
        }
        return result
    }

    static func percentDecode(_ text: Substring) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(text) }
        let input = Array(text.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), index + 2 < input.count, let h = hexValue(input[index + 1]),
                let l = hexValue(input[index + 2])
            {
                bytes.append(h << 4 | l)
                index += 2
            } else {
                bytes.append(byte)
            }
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The HTTP methods Engine.IO distinguishes.
public enum EngineIOHTTPMethod: Sendable, Hashable {
    case get
    case post
    case other
}

/// Where a request goes, decided from its method and query alone.
public enum EngineIORoute: Sendable, Hashable {
    /// Open a new session on this transport.
    case handshake(EngineIOTransport)
    /// Use the existing session `sid` over this transport.
    case session(sid: String, transport: EngineIOTransport)

    /// Validates `EIO`, `transport`, `sid` and the method the way the reference server does:
    /// unknown transport (0), then bad handshake method (2), then unsupported version (5).
    public static func resolve(
        method: EngineIOHTTPMethod,
        query: [String: String],
        transports: Set<EngineIOTransport>
    ) throws(EngineIOError) -> EngineIORoute {
        guard let name = query["transport"], let transport = EngineIOTransport(rawValue: name), transports.contains(transport) else {
            throw EngineIOError(.unknownTransport, "transport \(query["transport"] ?? "missing")")
        }
        if let sid = query["sid"] {
            guard query["EIO"] == "4" else { throw EngineIOError(.unsupportedProtocolVersion, "EIO \(query["EIO"] ?? "missing")") }
            if transport == .polling, method == .other { throw EngineIOError(.badRequest, "method not allowed") }
            return .session(sid: sid, transport: transport)
        }
        guard method == .get else { throw EngineIOError(.badHandshakeMethod, "handshake must be GET") }
        guard query["EIO"] == "4" else { throw EngineIOError(.unsupportedProtocolVersion, "EIO \(query["EIO"] ?? "missing")") }
        return .handshake(transport)
    }
}
