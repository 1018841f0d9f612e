import NIOCore
import Testing

@testable import RESP

/// Drives the request queue event by event, with strings standing in for promises.
@Suite struct RedisRequestQueueTests {
    typealias Queue = RedisRequestQueue<String>

    @Test func repliesCompleteRequestsInOrder() {
        var q = Queue()
        guard case .write(let a) = q.enqueue("a", expecting: 1), case .write(let b) = q.enqueue("b", expecting: 1) else {
            Issue.record("expected writes")
            return
        }
        #expect(a != b)
        guard case .succeed(let id1, "a", [.integer(1)]) = q.receive(.integer(1)) else {
            Issue.record("a first")
            return
        }
        #expect(id1 == a)
        guard case .succeed(_, "b", [.integer(2)]) = q.receive(.integer(2)) else {
            Issue.record("then b")
            return
        }
        #expect(q.inFlight == 0)
    }

    @Test func pipelineCompletesAfterAllItsReplies() {
        var q = Queue()
        _ = q.enqueue("p", expecting: 3)
        guard case .none = q.receive(.integer(1)), case .none = q.receive(.null) else {
            Issue.record("still waiting")
            return
        }
        guard case .succeed(_, "p", let values) = q.receive(.integer(3)) else {
            Issue.record("complete")
            return
        }
        #expect(values == [.integer(1), .null, .integer(3)])
    }

    @Test func unsolicitedReplyClosesTheConnection() {
        var q = Queue()
        guard case .closeConnection(let error, let failing) = q.receive(.integer(1)) else {
            Issue.record("must close")
            return
        }
        #expect(error.code == .protocolViolation)
        #expect(failing.isEmpty)
        guard case .fail("late", let e) = q.enqueue("late", expecting: 1) else {
            Issue.record("closed queue fails new requests")
            return
        }
        #expect(e.code == .protocolViolation)
    }

    @Test func closeFailsEverythingInFlightOnce() {
        var q = Queue()
        _ = q.enqueue("a", expecting: 1)
        _ = q.enqueue("b", expecting: 2)
        _ = q.receive(.integer(1))
        let failing = q.close(RedisError(.connectionClosed, message: "gone"))
        #expect(failing == ["b"])
        #expect(q.close(RedisError(.timeout, message: "later")).isEmpty)
        #expect(q.closedWith?.code == .connectionClosed)
    }

    @Test func timeoutOfAnAnsweredRequestIsIgnored() {
        var q = Queue()
        guard case .write(let a) = q.enqueue("a", expecting: 1), case .write(let b) = q.enqueue("b", expecting: 1) else {
            Issue.record("writes")
            return
        }
        _ = q.receive(.integer(1))
        guard case .none = q.timedOut(id: a, after: .seconds(1)) else {
            Issue.record("a was answered")
            return
        }
        guard case .closeConnection(let error, let failing) = q.timedOut(id: b, after: .seconds(1)) else {
            Issue.record("b timed out")
            return
        }
        #expect(error.code == .timeout)
        #expect(failing == ["b"])
    }

    @Test func compactsAfterManyRequests() {
        var q = Queue()
        for i in 0..<5000 { _ = q.enqueue("r\(i)", expecting: 1) }
        for i in 0..<4999 {
            guard case .succeed(_, let p, _) = q.receive(.integer(Int64(i))) else {
                Issue.record("reply \(i)")
                return
            }
            #expect(p == "r\(i)")
        }
        #expect(q.inFlight == 1)
    }

    @Test func classifiesPushes() {
        let message = RESPValue.array([
            .bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "c")), .bulkString(ByteBuffer(string: "x")),
        ])
        #expect(RedisPushClassifier.isPush(.push([]), pubSubMode: false))
        #expect(RedisPushClassifier.isPush(message, pubSubMode: true))
        #expect(!RedisPushClassifier.isPush(message, pubSubMode: false))
        #expect(!RedisPushClassifier.isPush(.array([.bulkString(ByteBuffer(string: "pong")), .bulkString(ByteBuffer())]), pubSubMode: true))
    }
}
