import Testing

@testable import SwitchboardServices

@Suite("The background executor's queue")
struct FIFOTests {
    @Test("first in, first out, and storage in proportion to what is held while never empty")
    func orderAndBoundedStorage() {
        var fifo = FIFO<Int>()
        #expect(fifo.pop() == nil)
        var next = 0
        var expected = 0
        // Always two held: the queue never empties, the way a busy executor's does not.
        for _ in 0..<2 {
            fifo.push(next)
            next += 1
        }
        for _ in 0..<100_000 {
            fifo.push(next)
            next += 1
            #expect(fifo.pop() == expected)
            expected += 1
            #expect(fifo.storage <= 2 * 1024 + 2)
        }
        #expect(fifo.count == 2)
        #expect(fifo.pop() == expected)
        #expect(fifo.pop() == expected + 1)
        #expect(fifo.pop() == nil)
        #expect(fifo.storage == 0)
    }
}
