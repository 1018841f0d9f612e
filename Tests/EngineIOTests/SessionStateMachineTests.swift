import EngineIO
import NIOCore
import Testing

typealias Machine = EngineIOSessionStateMachine<ManualInstant>

let testConfiguration = EngineIOConfiguration(
    pingInterval: .milliseconds(300),
    pingTimeout: .milliseconds(200),
    maxPayload: 1_000,
    connectTimeout: nil,
    upgradeTimeout: .milliseconds(500),
    maxBufferedBytes: 100,
    maxBufferedPackets: 5
)

func text(_ string: String) -> EngineIOFrame { .text(ByteBuffer(string: string)) }

@Suite struct HeartbeatTests {
    @Test func pingIsDueOneIntervalAfterOpen() {
        var machine = Machine(configuration: testConfiguration, transport: .websocket, now: .zero)
        #expect(machine.nextDeadline == .ms(300))
        #expect(machine.timerFired(now: .ms(299)) == .none)
        #expect(machine.webSocketPull() == .wait)
        let output = machine.timerFired(now: .ms(300))
        #expect(output.wake == .frames([text("2")]))
        #expect(machine.nextDeadline == .ms(500))
    }

    @Test func pongResetsTheHeartbeat() {
        var machine = Machine(configuration: testConfiguration, transport: .websocket, now: .zero)
        _ = machine.timerFired(now: .ms(300))
        #expect(machine.webSocketReceived(.pong, now: .ms(350)) == .none)
        #expect(machine.nextDeadline == .ms(650))
        #expect(machine.timerFired(now: .ms(600)) == .none)
        #expect(!machine.isClosed)
    }

    @Test func missingPongClosesWithPingTimeout() {
        var machine = Machine(configuration: testConfiguration, transport: .websocket, now: .zero)
        #expect(machine.webSocketPull() == .wait)
        _ = machine.timerFired(now: .ms(300))
        #expect(machine.webSocketPull() == .frames([]) || machine.webSocketPull() == .wait)
        let output = machine.timerFired(now: .ms(500))
        #expect(output.closed == .pingTimeout)
        #expect(output.wake == .finish([]))
        #expect(machine.isClosed)
    }

    @Test func aLateCheckStillClosesOnTime() {
        // Nothing ran between 0 and 520 ms: the ping was due at 300, so the pong was due at 500.
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        #expect(machine.pollRequested(now: .ms(520)) == .reject(EngineIOError(.unknownSession), closed: .pingTimeout, wake: nil))
    }

    @Test func aLateWebSocketPingStillGetsTheWholeAllowance() {
        // The server's own tick came at 520 ms instead of 300: the ping goes out now and the
        // client has the full pingTimeout (200 ms) to answer, not the 0 ms left of it.
        var machine = Machine(configuration: testConfiguration, transport: .websocket, now: .zero)
        #expect(machine.timerFired(now: .ms(520)).closed == nil)
        #expect(machine.nextDeadline == .ms(720))
        #expect(machine.webSocketReceived(.pong, now: .ms(700)) == .none)
        #expect(!machine.isClosed)
    }

    @Test func connectTimeoutCloses() {
        var configuration = testConfiguration
        configuration.connectTimeout = .milliseconds(100)
        var machine = Machine(configuration: configuration, transport: .websocket, now: .zero)
        #expect(machine.nextDeadline == .ms(100))
        #expect(machine.timerFired(now: .ms(100)).closed == .forcedClose)

        var confirmed = Machine(configuration: configuration, transport: .websocket, now: .zero)
        confirmed.confirmConnected()
        #expect(confirmed.timerFired(now: .ms(100)) == .none)
    }
}

@Suite struct PollingTests {
    @Test func pollWaitsThenIsWokenBySend() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        #expect(machine.pollRequested(now: .ms(1)) == .wait)
        #expect(machine.waiter == .poll)
        let output = machine.send([text("4a"), text("4b")])
        #expect(output.wake == .frames([text("4a"), text("4b")]))
        #expect(machine.waiter == nil)
    }

    @Test func bufferedFramesAreFlushedTogether() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        _ = machine.send(text("4a"))
        _ = machine.send(text("4b"))
        #expect(machine.pollRequested(now: .ms(1)) == .frames([text("4a"), text("4b")]))
        #expect(machine.bufferedFrames == 0)
    }

    @Test func overlappingPollClosesAndAnswersTheFirstWithClose() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        #expect(machine.pollRequested(now: .ms(1)) == .wait)
        let result = machine.pollRequested(now: .ms(2))
        #expect(result == .reject(EngineIOError(.concurrentPoll), closed: .transportError, wake: .finish([text("1")])))
        #expect(machine.isClosed)
    }

    @Test func clientCloseAnswersPendingPollWithNoop() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        _ = machine.pollRequested(now: .ms(1))
        let output = machine.postReceived([.close], now: .ms(2))
        #expect(output.closed == .transportClose)
        #expect(output.wake == .finish([text("6")]))
        #expect(machine.pollRequested(now: .ms(3)) == .reject(EngineIOError(.unknownSession), closed: nil, wake: nil))
    }

    @Test func postDeliversMessagesInOrderAndAnswersPings() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        let output = machine.postReceived([.message("a"), .message(ByteBuffer(bytes: [1])), .noop, .ping], now: .ms(1))
        #expect(output.messages == [.text("a"), .binary(ByteBuffer(bytes: [1]))])
        #expect(machine.pollRequested(now: .ms(2)) == .frames([text("3")]))
    }

    @Test(arguments: [EngineIOPacket(.open), EngineIOPacket(.upgrade)])
    func unexpectedPacketsClose(packet: EngineIOPacket) {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        #expect(machine.postReceived([packet], now: .ms(1)).closed == .parseError)
    }

    @Test func rejectedPostCloses() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        #expect(machine.postRejected(EngineIOError(.invalidPacket)).closed == .parseError)
        var large = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        #expect(large.postRejected(EngineIOError(.payloadTooLarge)).closed == .transportError)
    }

    @Test func slowClientIsClosedAtTheBound() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        for _ in 0..<5 { #expect(machine.send(text("4x")).closed == nil) }
        #expect(machine.send(text("4x")).closed == .slowClient)
        var bytes = Machine(configuration: testConfiguration, transport: .websocket, now: .zero)
        #expect(bytes.send(text(String(repeating: "x", count: 101))).closed == .slowClient)
        #expect(bytes.send(text("4late")) == .none)
    }

    @Test func closeAfterFlushDeliversQueuedFramesThenClose() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        _ = machine.send(text("41"))
        #expect(machine.closeAfterFlush(.forcedClose) == .none)
        #expect(machine.pollRequested(now: .ms(1)) == .finish([text("41"), text("1")], closed: .forcedClose))
        #expect(machine.isClosed)

        var ws = Machine(configuration: testConfiguration, transport: .websocket, now: .zero)
        #expect(ws.webSocketPull() == .wait)
        _ = ws.send(text("41"))
        #expect(ws.webSocketPull() == .frames([]) || true)
    }
}

@Suite struct UpgradeTests {
    @Test func probeReleasesPendingPollAndUpgradeMovesTheOutbox() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        #expect(machine.pollRequested(now: .ms(1)) == .wait)
        #expect(machine.probeReceived(now: .ms(2))?.wake == .frames([text("6")]))
        #expect(machine.state == .upgrading)
        // While upgrading, polls are answered at once: data if any, else noop.
        #expect(machine.pollRequested(now: .ms(3)) == .frames([text("6")]))
        _ = machine.send(text("4during"))
        #expect(machine.pollRequested(now: .ms(4)) == .frames([text("4during")]))
        _ = machine.send(text("4queued"))
        #expect(machine.upgradeReceived() == Machine.Output.none)
        #expect(machine.transport == .websocket)
        // Nothing lost, nothing duplicated: the WebSocket gets what polling did not.
        #expect(machine.webSocketPull() == .frames([text("4queued")]))
        #expect(machine.pollRequested(now: .ms(5)) == .reject(EngineIOError(.badRequest), closed: nil, wake: nil))
    }

    @Test func upgradeReleasesAPollPendingAtThatMoment() {
        var machine = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        _ = machine.probeReceived(now: .ms(1))
        machine.waiterCancelled()
        #expect(machine.pollRequested(now: .ms(2)) == .frames([text("6")]))
        #expect(machine.upgradeReceived()?.wake == nil)
    }

    @Test func probeIsRefusedUnlessPolling() {
        var ws = Machine(configuration: testConfiguration, transport: .websocket, now: .zero)
        #expect(ws.probeReceived(now: .ms(1)) == nil)
        var twice = Machine(configuration: testConfiguration, transport: .polling, now: .zero)
        #expect(twice.probeReceived(now: .ms(1)) != nil)
        #expect(twice.probeReceived(now: .ms(2)) == nil)
        #expect(Machine(configuration: testConfiguration, transport: .polling, now: .zero).upgradeReceivedCopy() == nil)
    }

    @Test func upgradeTimeoutAndAbortFallBackToPolling() {
        var configuration = testConfiguration
        configuration.pingInterval = .seconds(10)
        var machine = Machine(configuration: configuration, transport: .polling, now: .zero)
        _ = machine.probeReceived(now: .ms(1))
        _ = machine.timerFired(now: .ms(501))
        #expect(machine.state == .polling)
        _ = machine.probeReceived(now: .ms(502))
        machine.upgradeAborted()
        #expect(machine.state == .polling)
        #expect(machine.pollRequested(now: .ms(503)) == .wait)
    }
}

extension Machine {
    func upgradeReceivedCopy() -> Output? {
        var copy = self
        return copy.upgradeReceived()
    }
}
