import Foundation
import SwitchboardCore

/// Small JSON helpers for the text columns (attachments, referrals) and event payloads.
enum JSONText {
    /// Sorted keys, slashes unescaped (`CompactJSONEncoder`: Foundation's bytes, faster).
    static func encode(_ value: some Encodable) throws -> String {
        try CompactJSONEncoder().encodeString(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
