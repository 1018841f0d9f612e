import SwitchboardCore
import Testing

@Suite("E-mail addresses")
struct EmailAddressTests {
    @Test("normalised: trimmed and lower-cased")
    func normalised() {
        #expect(EmailAddress.normalized("  Ann@Example.COM \n") == "ann@example.com")
    }

    @Test(
        "refused",
        arguments: ["", "ann", "ann@", "@example.com", "ann@example", "ann@.example.com", "a b@example.com", "ann@@example.com", "<ann@example.com>"]
    )
    func refused(text: String) {
        #expect(EmailAddress.normalized(text) == nil)
    }
}
