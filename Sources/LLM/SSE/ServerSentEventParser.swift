/// One server-sent event (the WHATWG "event stream" format).
public struct ServerSentEvent: Sendable, Hashable {
    /// `event:`; "message" when the server named none.
    public var type: String
    /// The `data:` lines joined with "\n".
    public var data: String
    /// `id:`, when given.
    public var id: String?

    public init(type: String = "message", data: String, id: String? = nil) {
        self.type = type
        self.data = data
        self.id = id
    }
}

/// An incremental parser for `text/event-stream`, a value with no I/O.
///
/// Feed it bytes as they arrive, split anywhere (inside a line, between `\r` and `\n`,
/// inside a UTF-8 sequence); it returns the events completed so far. Lines end with LF, CR
/// or CRLF; `:` lines are comments; an event is dispatched at a blank line and only if it
/// has data; a stream that ends mid-event drops that event (as browsers do). Memory is
/// bounded: a line over `maxLineBytes`, or an event's data over `maxEventBytes`, throws
/// `llm.bad_response` instead of growing without end.
public struct ServerSentEventParser: Sendable {
    public let maxLineBytes: Int
    public let maxEventBytes: Int

    private var line: [UInt8] = []
    private var afterCR = false
    private var atStreamStart = true
    private var data: [UInt8] = []
    private var hasData = false
    private var type: String?
    private var id: String?

    public init(maxLineBytes: Int = 256 << 10, maxEventBytes: Int = 1 << 20) {
        self.maxLineBytes = maxLineBytes
        self.maxEventBytes = maxEventBytes
    }

    /// Consumes `bytes`; returns the events they complete, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(LLMError) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                if let event = try endLine() { events.append(event) }
            case UInt8(ascii: "\r"):
                afterCR = true
                if let event = try endLine() { events.append(event) }
            default:
                guard line.count < maxLineBytes else {
                    throw LLMError(.badResponse, "a server-sent-events line is longer than \(maxLineBytes) bytes")
                }
                line.append(byte)
            }
        }
        return events
    }

    /// Processes one complete line (without its terminator).
    private mutating func endLine() throws(LLMError) -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if atStreamStart {
            atStreamStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        }
        if line.isEmpty { return dispatch() }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let field = String(decoding: line[..<(colon ?? line.endIndex)], as: UTF8.self)
        var valueStart = colon.map { line.index(after: $0) } ?? line.endIndex
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart = line.index(after: valueStart) }
        let value = line[valueStart...]
        switch field {
        case "data":
            guard data.count + value.count + 1 <= maxEventBytes else {
                throw LLMError(.badResponse, "a server-sent event's data is longer than \(maxEventBytes) bytes")
            }
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        case "event":
            type = String(decoding: value, as: UTF8.self)
        case "id":
            // An id with NUL is ignored (the spec's rule).
            if !value.contains(0) { id = String(decoding: value, as: UTF8.self) }
        default:
            // `retry:` and unknown fields mean nothing to a one-shot request.
            break
        }
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
            type = nil
        }
        guard hasData else { return nil }
        let eventType = type.flatMap { $0.isEmpty ? nil : $0 } ?? "message"
        return ServerSentEvent(type: eventType, data: String(decoding: data, as: UTF8.self), id: id)
    }
}
