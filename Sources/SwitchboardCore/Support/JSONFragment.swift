/// JSON that is already serialised (a stored realtime payload), written as itself by
/// ``CompactJSONEncoder``.
///
/// `GET /api/events` serves up to a thousand stored payloads per page; decoding each only to
/// encode it again was most of that request's work. Other encoders cannot take raw JSON,
/// and refuse a fragment (`EncodingError.invalidValue`) rather than write it as a string.
public struct JSONFragment: Encodable, Sendable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public func encode(to encoder: any Encoder) throws {
        throw EncodingError.invalidValue(
            text,
            EncodingError.Context(codingPath: encoder.codingPath, debugDescription: "Only CompactJSONEncoder writes a JSON fragment.")
        )
    }
}
