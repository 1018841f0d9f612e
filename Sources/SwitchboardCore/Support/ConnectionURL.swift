import Foundation

/// The parts of a `scheme://user:password@host:port/path?query` URL, percent-decoded.
/// Foundation's URL accepts too much (and rejects `postgres://` hosts with underscores on
/// some platforms); configuration errors must name exactly what is wrong.
public struct ConnectionURL: Equatable, Sendable {
    public var scheme: String
    public var user: String?
    public var password: String?
    public var host: String?
    public var port: Int?
    public var path: String
    public var query: [String: String]

    public init?(_ string: String) {
        guard let schemeEnd = string.range(of: "://") else { return nil }
        scheme = String(string[..<schemeEnd.lowerBound]).lowercased()
        var rest = Substring(string[schemeEnd.upperBound...])
        query = [:]
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                query[Self.decode(kv[0])] = kv.count > 1 ? Self.decode(kv[1]) : ""
            }
            rest = rest[..<q]
        }
        if let slash = rest.firstIndex(of: "/") {
            path = Self.decode(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        } else {
            path = ""
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = Self.decode(credentials[..<colon])
                password = Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                user = Self.decode(credentials)
            }
        }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            host = rest.isEmpty ? nil : String(rest)
        }
    }

    private static func decode(_ s: Substring) -> String {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var iterator = s.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let h = iterator.next(), let l = iterator.next(),
                let value = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
