internal import Crypto
internal import Foundation
public import NIOCore

/// Checks and makes the `X-Hub-Signature-256` header Meta puts on every webhook POST.
///
/// The HMAC-SHA256 is computed over the **exact raw bytes** received (never re-serialized
/// JSON: Meta signs its escaped-unicode form) and compared in constant time, so the webhook
/// can refuse a forged body before anything is stored (invariant 1).
public enum WebhookSignature {
    /// The header Meta signs with SHA-256.
    public static let headerName = "X-Hub-Signature-256"
    /// The legacy SHA-1 header Meta still sends alongside; only the emulator writes it.
    public static let legacyHeaderName = "X-Hub-Signature"

    /// Throws unless `header` is `sha256=<hex>` of `body` keyed with `appSecret`.
    ///
    /// Codes: `webhook.signature_missing` (nil or empty header),
    /// `webhook.signature_unsupported_algorithm` (not `sha256=`, e.g. `sha1=`),
    /// `webhook.signature_malformed` (not 64 hex digits, either case),
    /// `webhook.signature_invalid` (well-formed but wrong).
    public static func verify(body: ByteBuffer, header: String?, appSecret: AppSecret) throws(MessengerError) {
        let expected = try parse(header)
        let actual = body.withUnsafeReadableBytes { mac(over: $0, secret: appSecret) }
        try compare(actual, expected)
    }

    /// Same as ``verify(body:header:appSecret:)-(ByteBuffer,_,_)`` for a byte array.
    public static func verify(body: [UInt8], header: String?, appSecret: AppSecret) throws(MessengerError) {
        let expected = try parse(header)
        let actual = body.withUnsafeBytes { mac(over: $0, secret: appSecret) }
        try compare(actual, expected)
    }

    /// The header value Meta would send for `body`: `sha256=` and lowercase hex.
    /// Used by the emulator's customer and by tests.
    public static func sign(body: [UInt8], appSecret: AppSecret) -> String {
        "sha256=" + Hex.lowercase(body.withUnsafeBytes { mac(over: $0, secret: appSecret) })
    }

    /// Same as ``sign(body:appSecret:)-([UInt8],_)`` for a buffer.
    public static func sign(body: ByteBuffer, appSecret: AppSecret) -> String {
        "sha256=" + Hex.lowercase(body.withUnsafeReadableBytes { mac(over: $0, secret: appSecret) })
    }

    /// The legacy `X-Hub-Signature` value (`sha1=` and lowercase hex), which Meta still sends
    /// and older receivers still check. Only for the emulator: verify with SHA-256.
    public static func signLegacySHA1(body: [UInt8], appSecret: AppSecret) -> String {
        let key = SymmetricKey(data: Array(appSecret.exposedValue.utf8))
        let code = body.withUnsafeBytes { bytes in
            var hmac = HMAC<Insecure.SHA1>(key: key)
            hmac.update(data: bytes)
            return Array(hmac.finalize())
        }
        return "sha1=" + Hex.lowercase(code)
    }

    // MARK: - Internals

    private static func mac(over bytes: UnsafeRawBufferPointer, secret: AppSecret) -> [UInt8] {
        let key = SymmetricKey(data: Array(secret.exposedValue.utf8))
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: bytes)
        return Array(hmac.finalize())
    }

    private static func parse(_ header: String?) throws(MessengerError) -> [UInt8] {
        guard let header = header?.trimmingSpaces, !header.isEmpty else {
            throw MessengerError(.signatureMissing, "The request has no \(headerName) header.")
        }
        let prefix = "sha256="
        guard header.utf8.count >= prefix.utf8.count,
            header.utf8.prefix(prefix.utf8.count).elementsEqual(prefix.utf8, by: { lowercased($0) == $1 })
        else {
            throw MessengerError(.signatureUnsupportedAlgorithm, "\(headerName) must start with sha256=.")
        }
        let digits = Array(header.utf8.dropFirst(prefix.utf8.count))
        guard digits.count == 64 else {
            throw MessengerError(.signatureMalformed, "\(headerName) must carry 64 hexadecimal digits.")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else {
                throw MessengerError(.signatureMalformed, "\(headerName) must carry 64 hexadecimal digits.")
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func compare(_ actual: [UInt8], _ expected: [UInt8]) throws(MessengerError) {
        guard constantTimeEquals(actual, expected) else {
            throw MessengerError(.signatureInvalid, "The \(headerName) signature does not match the body.")
        }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= 0x41 && byte <= 0x5A) ? byte + 0x20 : byte
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        case 0x41...0x46: byte - 0x41 + 10
        default: nil
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view.removeFirst() }
        while let last = view.last, last == " " || last == "\t" { view.removeLast() }
        return String(view)
    }
}

/// Compares every byte whatever the first difference, so timing reveals nothing about
/// where a forged signature or token goes wrong.
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference: UInt8 = a.count == b.count ? 0 : 1
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
