import NIOCore
import Testing

@testable import RESP

/// Drives the request queue event by event, with strings standing in for promises.
@Suite struct RedisRequestQueueTests {
    typealias Queue = RedisRequestQueue<String>

    @Test func repliesCompleteRequestsInOrder() {
        var q = Queue()
        guard case .write(nil) = q.enqueue("a", expecting: 1), case .write(nil) = q.enqueue("b", expecting: 1) else {
            Issue.record("expected writes without a timer")
            return
        }
        guard case .succeed("a", [.integer(1)]) = q.receive(.integer(1)) else {
            Issue.record("a first")
            return
        }
        guard case .succeed("b", [.integer(2)]) = q.receive(.integer(2)) else {
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
        guard case .succeed("p", let values) = q.receive(.integer(3)) else {
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

    @Test func oneTimerArmedForTheEarliestDeadline() {
        var q = Queue()
        guard case .write(armTimerAt: 1_000) = q.enqueue("a", expecting: 1, timeout: .nanoseconds(900), now: 100) else {
            Issue.record("the first deadline arms the timer")
            return
        }
        // A later deadline waits for the armed timer; an earlier one re-arms it.
        guard case .write(nil) = q.enqueue("b", expecting: 1, timeout: .nanoseconds(1_000), now: 200),
            case .write(nil) = q.enqueue("c", expecting: 1),
            case .write(armTimerAt: 700) = q.enqueue("d", expecting: 1, timeout: .nanoseconds(400), now: 300)
        else {
            Issue.record("only an earlier deadline re-arms")
            return
        }
        #expect(q.timerDeadline == 700)
    }

    @Test func timerOfAnsweredRequestsRearmsForTheNextDeadline() {
        var q = Queue()
        _ = q.enqueue("a", expecting: 1, timeout: .seconds(1), now: 0)
        _ = q.enqueue("b", expecting: 1, timeout: .seconds(1), now: 500_000_000)
        _ = q.receive(.integer(1))
        guard case .rearm(at: 1_500_000_000) = q.timerFired(now: 1_000_000_000) else {
            Issue.record("a was answered: wait for b's deadline")
            return
        }
        _ = q.receive(.integer(2))
        guard case .none = q.timerFired(now: 1_500_000_000) else {
            Issue.record("nothing left to time")
            return
        }
        #expect(q.timerDeadline == nil)
        // The next request with a timeout arms the timer again.
        guard case .write(armTimerAt: 2_500_000_000) = q.enqueue("c", expecting: 1, timeout: .seconds(1), now: 1_500_000_000) else {
            Issue.record("re-armed")
            return
        }
    }

    @Test func requestPastItsDeadlineClosesWithEverythingInFlight() {
        var q = Queue()
        _ = q.enqueue("blocking", expecting: 1, timeout: .seconds(10), now: 0)
        _ = q.enqueue("quick", expecting: 1, timeout: .seconds(1), now: 0)
        _ = q.enqueue("untimed", expecting: 1)
        guard case .closeConnection(let error, let failing) = q.timerFired(now: 1_000_000_000) else {
            Issue.record("quick timed out behind the blocking one")
            return
        }
        #expect(error.code == .timeout)
        #expect(error.message.contains("1.0 seconds"))
        #expect(failing == ["blocking", "quick", "untimed"])
        guard case .none = q.timerFired(now: 2_000_000_000), case .fail("late", _) = q.enqueue("late", expecting: 1) else {
            Issue.record("closed for good")
            return
        }
    }

    @Test func compactsAfterManyRequests() {
        var q = Queue()
        for i in 0..<5000 { _ = q.enqueue("r\(i)", expecting: 1) }
        for i in 0..<4999 {
            guard case .succeed(let p, _) = q.receive(.integer(Int64(i))) else {
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
