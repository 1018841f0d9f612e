import Messenger
import Testing

@Suite("Hex")
struct HexTests {
    @Test("two lowercase digits per byte, leading zeros kept")
    func lowercaseDigits() {
        #expect(Hex.lowercase([0x00, 0x0f, 0xa5, 0xff, 0x10]) == "000fa5ff10")
        #expect(Hex.lowercase([UInt8]()) == "")
        #expect(Hex.lowercase((0...255).map(UInt8.init)).count == 512)
    }
}
