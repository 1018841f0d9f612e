import Crypto
import Foundation
import Messenger

/// API tokens: shown once at creation, stored only as a SHA-256 hash.
public enum APITokens {
    /// A new random token (`sb_` + 32 random bytes, base64url).
    public static func generate() -> String {
        "sb_" + Base64URL.random(bytes: 32)
    }

    /// The stored form of a token (and of session and sign-in tokens).
    public static func hash(_ token: String) -> String {
        Hex.lowercase(SHA256.hash(data: Data(token.utf8)))
    }
}
