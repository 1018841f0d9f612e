import Messenger
import NIOCore
import Testing

@Suite struct WebhookSignatureTests {
    let secret = AppSecret("3f1c0d5e8a6b4c2d9e7f0a1b2c3d4e5f")
    let body = Array(#"{"object":"page","entry":[]}"#.utf8)

    func code(_ header: String?, body: [UInt8]? = nil) -> MessengerError.Code? {
        do {
            try WebhookSignature.verify(body: body ?? self.body, header: header, appSecret: secret)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func signedBodyVerifies() throws {
        let header = WebhookSignature.sign(body: body, appSecret: secret)
        #expect(header.hasPrefix("sha256="))
        #expect(header.count == 7 + 64)
        try WebhookSignature.verify(body: body, header: header, appSecret: secret)
        try WebhookSignature.verify(body: ByteBuffer(bytes: body), header: header, appSecret: secret)
    }

    /// Known answer computed with `openssl dgst -sha256 -hmac` so we are not checking
    /// `sign` against itself.
    @Test func knownAnswer() throws {
        let expected = WebhookSignature.sign(body: Array("hello".utf8), appSecret: AppSecret("key"))
        #expect(expected == "sha256=9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b")
    }

    @Test func uppercaseHexAndPrefixAreAccepted() throws {
        let header = WebhookSignature.sign(body: body, appSecret: secret)
        let upper = "SHA256=" + header.dropFirst(7).uppercased()
        try WebhookSignature.verify(body: body, header: upper, appSecret: secret)
        try WebhookSignature.verify(body: body, header: "  \(header) ", appSecret: secret)
    }

    @Test func readsOnlyTheReadableBytesOfABuffer() throws {
        var buffer = ByteBuffer(bytes: Array("junk".utf8) + body)
        buffer.moveReaderIndex(forwardBy: 4)
        try WebhookSignature.verify(
            body: buffer,
            header: WebhookSignature.sign(body: body, appSecret: secret),
            appSecret: secret
        )
        #expect(WebhookSignature.sign(body: buffer, appSecret: secret) == WebhookSignature.sign(body: body, appSecret: secret))
    }

    @Test func distinctCodesForEachFailure() {
        let good = WebhookSignature.sign(body: body, appSecret: secret)
        #expect(code(nil) == .signatureMissing)
        #expect(code("") == .signatureMissing)
        #expect(code("sha1=" + String(repeating: "a", count: 40)) == .signatureUnsupportedAlgorithm)
        #expect(code(String(good.dropFirst(7))) == .signatureUnsupportedAlgorithm)
        #expect(code("sha256=") == .signatureMalformed)
        #expect(code("sha25") == .signatureUnsupportedAlgorithm)
        #expect(code("sha256=abc") == .signatureMalformed)
        #expect(code("sha256=" + String(repeating: "g", count: 64)) == .signatureMalformed)
        #expect(code(good + "00") == .signatureMalformed)
        #expect(code("sha256=" + String(repeating: "0", count: 64)) == .signatureInvalid)
        #expect(code(good, body: body + [0x20]) == .signatureInvalid)
        #expect(code(good, body: []) == .signatureInvalid)
        #expect(MessengerError.Code.signatureInvalid.rawValue == "webhook.signature_invalid")
    }

    @Test func wrongSecretIsInvalid() {
        let forged = WebhookSignature.sign(body: body, appSecret: AppSecret("another secret"))
        #expect(code(forged) == .signatureInvalid)
    }

    /// Meta signs the escaped form; re-serialising would change the bytes and the signature.
    @Test func signatureIsOverExactBytes() {
        let escaped = Array(#"{"t":"\u00fc"}"#.utf8)
        let raw = Array(#"{"t":"ü"}"#.utf8)
        let header = WebhookSignature.sign(body: escaped, appSecret: secret)
        #expect(code(header, body: escaped) == nil)
        #expect(code(header, body: raw) == .signatureInvalid)
    }

    @Test func legacySHA1() {
        #expect(
            WebhookSignature.signLegacySHA1(body: Array("hello".utf8), appSecret: AppSecret("key"))
                == "sha1=b34ceac4516ff23a143e61d79d0fa7a4fbe5f266"
        )
    }

    @Test func secretsAreRedacted() {
        let token = PageAccessToken("EAAG-very-secret")
        #expect("\(secret)" == "<redacted>")
        #expect(String(describing: token) == "<redacted>")
        #expect(!String(reflecting: token).contains("EAAG"))
        var dumped = ""
        dump(token, to: &dumped)
        #expect(!dumped.contains("EAAG"))
    }
}
