import NIOCore
import NIOWebSocket

#if canImport(Glibc)
import Glibc
#endif

/// What one client counted.
struct ClientStats: Sendable {
    /// Probed events sent inside the measured window and received.
    var deliveries = 0
    /// Their latencies (receive time minus the payload's timestamp), in ms.
    var latencies: [Double] = []
    /// Other events received during the run.
    var otherEvents = 0
    /// Echo round trips completed inside the window, and their latencies in ms.
    var roundTrips = 0
    var roundTripLatencies: [Double] = []
    /// Emits sent by a publisher inside the window.
    var published = 0
    var pingsAnswered = 0
    mutating func merge(_ other: ClientStats) {
        deliveries += other.deliveries
        latencies += other.latencies
        otherEvents += other.otherEvents
        roundTrips += other.roundTrips
        roundTripLatencies += other.roundTripLatencies
        published += other.published
        pingsAnswered += other.pingsAnswered
    }
}

/// The measured interval, in wall-clock milliseconds (deliveries) and uptime (emits).
struct MeasureWindow: Sendable {
    var startMs: Double
    var endMs: Double
    var end: NIODeadline
}

struct LoadClientFailure: Error, CustomStringConvertible {
    var description: String
}

/// Wall-clock milliseconds since the epoch, as the payload timestamps are.
func wallClockMilliseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1_000_000
}

/// Runs one client's ``LoadClientMachine`` on its channel: writes what it says, answers
/// WebSocket pings, times deliveries and round trips, and publishes when asked to.
final class LoadClientHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private var machine: LoadClientMachine
    private let ready: EventLoopPromise<Void>
    private(set) var stats = ClientStats()
    private var window: MeasureWindow?
    private var echo: (id: Int, started: NIODeadline)?
    private var context: ChannelHandlerContext?

    init(machine: LoadClientMachine, ready: EventLoopPromise<Void>) {
        self.machine = machine
        self.ready = ready
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            let step = frame.unmaskedData.withUnsafeReadableBytes { machine.received($0) }
            if let text = step.send { send(text, context: context) }
            if let signal = step.signal { handle(signal, context: context) }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        ready.fail(LoadClientFailure(description: "connection closed before ready"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ready.fail(error)
        context.close(promise: nil)
    }

    private func handle(_ signal: LoadClientMachine.Signal, context: ChannelHandlerContext) {
        switch signal {
        case .ready:
            ready.succeed()
        case .failed(let reason):
            ready.fail(LoadClientFailure(description: reason))
            context.close(promise: nil)
        case .delivery(let sentAt):
            guard let window else { return }
            let now = wallClockMilliseconds()
            let sent = sentAt ?? now
            guard sent >= window.startMs, sent < window.endMs else { return }
            stats.deliveries += 1
            stats.latencies.append(now - sent)
        case .otherEvent:
            if window != nil { stats.otherEvents += 1 }
        case .acked(let id):
            guard let echo, echo.id == id else { return }
            self.echo = nil
            let now = NIODeadline.now()
            guard let window, now <= window.end else { return }
            stats.roundTrips += 1
            stats.roundTripLatencies.append(Double((now - echo.started).nanoseconds) / 1_000_000)
            emitEcho(context: context)
        case .pinged:
            stats.pingsAnswered += 1
        }
    }

    private func send(_ text: String, context: ChannelHandlerContext) {
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: context.channel.allocator.buffer(string: text))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    // MARK: Commands from the run (on this channel's event loop)

    /// Starts counting deliveries and round trips inside `window`.
    func measure(_ window: MeasureWindow) {
        self.window = window
    }

    /// Starts the closed echo loop (one emit with ack in flight at a time) until the window ends.
    func startEcho() {
        guard let context, machine.phase == .ready else { return }
        emitEcho(context: context)
    }

    private func emitEcho(context: ChannelHandlerContext) {
        guard let template = machine.script.echo else { return }
        let (text, id) = machine.emit(template, ack: true, now: wallClockMilliseconds())
        echo = (id!, NIODeadline.now())
        send(text, context: context)
    }

    /// Emits `template` (no ack) `rate` times a second, on a fixed schedule, until the window ends.
    func publish(_ template: PayloadTemplate, rate: Double) {
        guard let context, let window else { return }
        let interval = TimeAmount.nanoseconds(Int64(1_000_000_000 / rate))
        publish(template, next: NIODeadline.now(), interval: interval, until: window.end, context: context)
    }

    private func publish(_ template: PayloadTemplate, next: NIODeadline, interval: TimeAmount, until end: NIODeadline, context: ChannelHandlerContext)
    {
        guard next < end, machine.phase == .ready else { return }
        let (text, _) = machine.emit(template, ack: false, now: wallClockMilliseconds())
        send(text, context: context)
        stats.published += 1
        let following = next + interval
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(deadline: following) {
            guard let context = loopBound.value.context else { return }
            loopBound.value.publish(template, next: following, interval: interval, until: end, context: context)
        }
    }
}
