/// Everything needed to reach one Redis server: address, credentials, TLS, protocol, pool,
/// timeouts and reconnect policy. Build it from a `redis://` / `rediss://` URL or field by field.
public struct RedisConfiguration: Sendable {
    /// Which RESP version to speak.
    public enum ProtocolVersion: Sendable, Hashable {
        /// `HELLO 3`, falling back to RESP2 when the server does not know `HELLO`.
        case automatic
        /// RESP2 only (no `HELLO`; `AUTH` if credentials are set).
        case resp2
        /// RESP3, failing if the server cannot.
        case resp3
    }

    /// TLS options for `rediss://`. The server certificate is always verified: against the
    /// system roots, or against ``caFile`` when set.
    public struct TLS: Sendable, Hashable {
        /// PEM file of the CA(s) to trust instead of the system roots.
        public var caFile: String?
        /// Name to verify the certificate against and send as SNI; defaults to the host.
        public var serverName: String?

        public init(caFile: String? = nil, serverName: String? = nil) {
            self.caFile = caFile
            self.serverName = serverName
        }
    }

    /// Limits of the connection pool used for ordinary commands.
    public struct Pool: Sendable, Hashable {
        /// Connections kept open (and reopened with backoff after a drop) even when idle.
        public var minimumConnections: Int
        /// Most connections open at once; further requests wait.
        public var maximumConnections: Int
        /// How long a request waits for a free connection before failing with
        /// ``RedisError/Code/poolTimeout``.
        public var acquireTimeout: Duration

        public init(minimumConnections: Int = 1, maximumConnections: Int = 8, acquireTimeout: Duration = .seconds(10)) {
            self.minimumConnections = minimumConnections
            self.maximumConnections = maximumConnections
            self.acquireTimeout = acquireTimeout
        }
    }

    /// Delay between reconnect attempts: `initial × multiplier^attempt`, capped, with jitter.
    public struct Backoff: Sendable, Hashable {
        public var initialDelay: Duration
        public var maximumDelay: Duration
        public var multiplier: Double
        /// Fraction (0…1) of random spread added to each delay.
        public var jitter: Double

        public init(
            initialDelay: Duration = .milliseconds(100),
            maximumDelay: Duration = .seconds(5),
            multiplier: Double = 2,
            jitter: Double = 0.2
        ) {
            self.initialDelay = initialDelay
            self.maximumDelay = maximumDelay
            self.multiplier = multiplier
            self.jitter = jitter
        }

        /// The delay before retry number `attempt` (0-based).
        public func delay(attempt: Int, random: Double = .random(in: 0...1)) -> Duration {
            let base = Double(initialDelay.components.seconds) + Double(initialDelay.components.attoseconds) * 1e-18
            let cap = Double(maximumDelay.components.seconds) + Double(maximumDelay.components.attoseconds) * 1e-18
            let raw = min(cap, base * pow(multiplier, Double(min(attempt, 62))))
            let spread = raw * jitter * random
            return .nanoseconds(Int64(min(cap, raw + spread) * 1e9))
        }

        private func pow(_ a: Double, _ b: Double) -> Double {
            var r = 1.0
            var i = 0.0
            while i < b && r < 1e12 {
                r *= a
                i += 1
            }
            return r
        }
    }

    public var host: String
    public var port: Int
    /// ACL user; nil means `default`.
    public var username: String?
    public var password: String?
    /// Database selected with `SELECT` after connecting (`/n` in the URL).
    public var database: Int
    /// TLS settings; nil means plain TCP.
    public var tls: TLS?
    public var protocolVersion: ProtocolVersion
    /// Sent with `CLIENT SETNAME` (or `HELLO … SETNAME`), visible in `CLIENT LIST`.
    public var clientName: String?
    public var connectTimeout: Duration
    /// How long a reply may take (a blocking command adds its own block time). nil: no limit.
    public var commandTimeout: Duration?
    public var pool: Pool
    public var reconnectBackoff: Backoff
    public var parserLimits: RESPParserLimits

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        tls: TLS? = nil,
        protocolVersion: ProtocolVersion = .automatic,
        clientName: String? = nil,
        connectTimeout: Duration = .seconds(10),
        commandTimeout: Duration? = .seconds(30),
        pool: Pool = .init(),
        reconnectBackoff: Backoff = .init(),
        parserLimits: RESPParserLimits = .init()
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.protocolVersion = protocolVersion
        self.clientName = clientName
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.pool = pool
        self.reconnectBackoff = reconnectBackoff
        self.parserLimits = parserLimits
    }

    /// Parses `redis[s]://[[user][:password]@]host[:port][/db][?protocol=2|3&name=…]`.
    ///
    /// `rediss` turns TLS on (verifying the server certificate); `caFile` trusts a custom CA.
    /// User and password are percent-decoded. IPv6 hosts go in brackets.
    public init(url: String, caFile: String? = nil) throws(RedisError) {
        self.init()
        func invalid(_ why: String) -> RedisError {
            RedisError(.invalidConfiguration, message: "invalid Redis URL \(Self.mask(url)): \(why)")
        }
        var rest = Substring(url)
        if rest.hasPrefix("redis://") {
            rest = rest.dropFirst("redis://".count)
        } else if rest.hasPrefix("rediss://") {
            rest = rest.dropFirst("rediss://".count)
            tls = TLS(caFile: caFile)
        } else {
            throw invalid("scheme must be redis:// or rediss://")
        }
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                let user = try Self.percentDecode(userinfo[..<colon])
                username = user.isEmpty ? nil : user
                password = try Self.percentDecode(userinfo[userinfo.index(after: colon)...])
            } else if !userinfo.isEmpty {
                // `redis://secret@host` is the legacy form: a password without a user.
                password = try Self.percentDecode(userinfo)
            }
        }
        var hostPart = rest
        var portPart: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw invalid("unclosed [") }
            let after = hostPart[hostPart.index(after: close)...]
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty { throw invalid("bad host") }
        } else if let colon = hostPart.lastIndex(of: ":") {
            portPart = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        if !hostPart.isEmpty { host = String(hostPart) }
        if let portPart {
            guard let p = Int(portPart), (1...65535).contains(p) else { throw invalid("bad port") }
            port = p
        }
        if !path.isEmpty {
            guard let db = Int(path), db >= 0 else { throw invalid("database must be a number") }
            database = db
        }
        for item in query.split(separator: "&") {
            let kv = item.split(separator: "=", maxSplits: 1)
            let key = kv.first.map(String.init) ?? ""
            let value = kv.count > 1 ? try Self.percentDecode(kv[1]) : ""
            switch key {
            case "protocol":
                switch value {
                case "2": protocolVersion = .resp2
                case "3": protocolVersion = .resp3
                default: throw invalid("protocol must be 2 or 3")
                }
            case "name", "client_name": clientName = value
            case "db":
                guard let db = Int(value), db >= 0 else { throw invalid("db must be a number") }
                database = db
            default: break
            }
        }
    }

    /// The URL with the password replaced by `****`, safe for logs and status pages:
    /// `redis://:****@host:6379/2`.
    public var maskedDescription: String {
        var s = tls == nil ? "redis://" : "rediss://"
        if password != nil || username != nil {
            s += username ?? ""
            if password != nil { s += ":****" }
            s += "@"
        }
        s += host.contains(":") ? "[\(host)]" : host
        s += ":\(port)"
        if database != 0 { s += "/\(database)" }
        return s
    }

    /// Masks the password part of a URL string without parsing it fully.
    static func mask(_ url: String) -> String {
        let chars = Array(url)
        var schemeEnd: Int?
        var i = 0
        while i + 2 < chars.count {
            if chars[i] == ":" && chars[i + 1] == "/" && chars[i + 2] == "/" {
                schemeEnd = i + 3
                break
            }
            i += 1
        }
        guard let start = schemeEnd, let at = chars[start...].lastIndex(of: "@") else { return url }
        let userinfo = chars[start..<at]
        let user = userinfo.firstIndex(of: ":").map { String(chars[start..<$0]) }
        return String(chars[..<start]) + (user.map { $0 + ":****" } ?? "****") + String(chars[at...])
    }

    private static func percentDecode(_ s: Substring) throws(RedisError) -> String {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hv = hexValue(h), let lv = hexValue(l) else {
                    throw RedisError(.invalidConfiguration, message: "invalid percent-encoding in Redis URL")
                }
                bytes.append(hv << 4 | lv)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// Same as ``maskedDescription``: a configuration never prints its password.
    public var description: String { maskedDescription }
}
