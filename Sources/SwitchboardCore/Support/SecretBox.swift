import Crypto
import Foundation

/// Seals secrets at rest (Page tokens, LLM keys) with AES-GCM under a key derived from the
/// configured secret by HKDF (invariant 8). A sealed value is `version || nonce ||
/// ciphertext || tag`; a different secret cannot open it.
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    public init(secret: String) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(secret.utf8)),
            salt: Data("switchboard.secretbox.v1".utf8),
            info: Data("page-tokens".utf8),
            outputByteCount: 32
        )
    }

    public func seal(_ plaintext: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key)
        guard let combined = box.combined else {
            throw SwitchboardError(.configurationInvalid, "AES-GCM produced no combined representation.")
        }
        return [1] + Array(combined)
    }

    public func open(_ sealed: [UInt8]) throws -> String {
        guard sealed.first == 1 else {
            throw SwitchboardError(.configurationInvalid, "The stored secret has an unknown format.")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: Data(sealed.dropFirst()))
            return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
        } catch {
            throw SwitchboardError(
                .configurationInvalid,
                "A stored secret cannot be opened: NEXTAUTH_SECRET changed since it was saved. Save the Page token again."
            )
        }
    }
}
