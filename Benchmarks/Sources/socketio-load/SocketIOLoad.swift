import ArgumentParser
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

#if canImport(Glibc)
import Glibc
#endif

/// Connects many raw Engine.IO v4 / Socket.IO v5 clients over WebSocket and measures what
/// they receive. Prints a `{"event":"ready",...}` line once every client is connected (and
/// has joined), measures for `--duration` seconds, then prints one JSON line of results.
@main
struct SocketIOLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "socketio-load",
        abstract: "Socket.IO load generator: many WebSocket clients on NIO, latency and throughput as JSON.",
        discussion: """
            Templates are JSON arrays (event name first) with placeholders: $NOW (wall-clock ms), \
            $SEQ (emit number), $ROOM (the client's room from --rooms), $CLIENT (client index).
              hold:    --clients 10000 --server-pid PID
              fan-out: --clients 1000 --join '["join","fan"]' --receive tick --timestamp-key sentAt \\
                       --publish '["to-room",{"room":"fan","event":"tick","data":{"sentAt":$NOW}}]' --rate 50
              echo:    --clients 100 --echo '["echo",$SEQ]'
              e2e:     --auth '{"token":"…"}' --join '["join:conversation","$ROOM"]' --rooms c1,c2 \\
                       --receive message:new --timestamp-key facebookMessageId
            """
    )

    @Option(help: "Server base URL, http://host:port.") var url: String
    @Option(help: "Engine.IO path.") var path = "/socket.io/"
    @Option(help: "Socket.IO namespace.") var namespace = "/"
    @Option(help: "Clients to connect.") var clients = 100
    @Option(help: "CONNECT auth payload (a JSON object).") var auth = "{}"
    @Option(help: "Event each client emits with an ack once connected; it is ready when acked.") var join: String?
    @Option(help: "Comma-separated rooms for $ROOM: client i gets room i mod count.") var rooms = ""
    @Option(help: "Event whose delivery latency is recorded.") var receive: String?
    @Option(help: "Payload key holding the event's wall-clock send time in ms; default: the first argument.")
    var timestampKey: String?
    @Option(help: "Event one extra client emits --rate times a second during the window.") var publish: String?
    @Option(help: "Publish rate per second.") var rate = 50.0
    @Option(help: "Event each client emits with an ack in a closed loop during the window.") var echo: String?
    @Option(help: "Seconds measured once every client is ready.") var duration = 10.0
    @Option(help: "Seconds to keep receiving after the window: late deliveries of events sent in it count.")
    var drain = 1.0
    @Option(help: "Connections being set up at once.") var connectConcurrency = 100
    @Option(help: "Event-loop threads.") var threads = 1
    @Option(help: "Seconds a client may take to be ready.") var connectTimeout = 60.0
    @Option(help: "The server's PID: report its RSS per client and CPU.") var serverPid: Int32?
    @Option(help: "Seconds between the last client ready and the server RSS sample.") var settle = 1.0

    func validate() throws {
        guard clients >= 0, threads > 0, connectConcurrency > 0, duration > 0, rate > 0 else {
            throw ValidationError("counts, rates and durations must be positive")
        }
        guard Endpoint(url: url, path: path) != nil else { throw ValidationError("--url must look like http://host:port") }
    }

    func run() async throws {
        let reader = SocketIOFrameReader(namespace: namespace)
        let script = LoadScript(
            reader: reader,
            auth: auth,
            join: join.map(PayloadTemplate.init),
            rooms: rooms.split(separator: ",").map(String.init),
            probe: receive.map { LatencyProbe(event: $0, timestampKey: timestampKey) },
            echo: echo.map(PayloadTemplate.init)
        )
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let connector = LoadConnector(group: group, endpoint: Endpoint(url: url, path: path)!, timeout: .nanoseconds(Int64(connectTimeout * 1e9)))
        let rssBefore = serverPid.flatMap(ProcessSample.residentKiB)

        // Connect everyone (and the publisher), then say so: a driver may start its load now.
        let connectStart = NIODeadline.now()
        let (channels, failures) = await connector.connectAll(clients, script: script, concurrency: connectConcurrency)
        var publisher: (any Channel)?
        if let publish {
            let publisherScript = LoadScript(reader: reader, auth: auth, join: nil, rooms: [], probe: nil, echo: PayloadTemplate(publish))
            publisher = try await connector.connect(client: clients, script: publisherScript)
        }
        var report = LoadReport()
        report.add("clients", clients)
        report.add("connected", channels.count)
        report.add("failed", failures.values.reduce(0, +))
        report.add("connect_s", Double((NIODeadline.now() - connectStart).nanoseconds) / 1e9)
        print(#"{"event":"ready","#, report.json.dropFirst(), separator: "")
        fflush(nil)
        if !failures.isEmpty { report.add("failures", failures) }
        if let serverPid, let rssBefore {
            try await Task.sleep(for: .seconds(settle))
            let loaded = ProcessSample.residentKiB(pid: serverPid) ?? rssBefore
            report.add("server_rss_kib_before", rssBefore)
            report.add("server_rss_kib_loaded", loaded)
            report.add("server_rss_per_client_kib", channels.isEmpty ? nil : Double(loaded - rssBefore) / Double(channels.count))
        }

        // The measured window: CPU over `duration`, deliveries of what was sent in it.
        let startMs = wallClockMilliseconds()
        let window = MeasureWindow(startMs: startMs, endMs: startMs + duration * 1000, end: .now() + .nanoseconds(Int64(duration * 1e9)))
        let serverCPUStart = serverPid.flatMap(ProcessSample.cpuSeconds)
        let ownCPUStart = ProcessSample.ownCPUSeconds()
        for channel in channels {
            Self.onHandler(of: channel) { handler in
                handler.measure(window)
                if script.echo != nil { handler.startEcho() }
            }
        }
        if let publisher, let publish {
            let (template, rate) = (PayloadTemplate(publish), rate)
            Self.onHandler(of: publisher) { handler in
                handler.measure(window)
                handler.publish(template, rate: rate)
            }
        }
        try await Task.sleep(for: .seconds(duration))
        let ownCPU = ProcessSample.ownCPUSeconds() - ownCPUStart
        let serverCPU = serverPid.flatMap(ProcessSample.cpuSeconds).flatMap { end in serverCPUStart.map { end - $0 } }
        try await Task.sleep(for: .seconds(drain))

        var total = ClientStats()
        for channel in channels + (publisher.map { [$0] } ?? []) {
            let stats = try? await channel.eventLoop.submit { try channel.pipeline.syncOperations.handler(type: LoadClientHandler.self).stats }.get()
            if let stats { total.merge(stats) }
        }
        report.add("duration_s", duration)
        report.add("generator_cpu_pct", 100 * ownCPU / duration, digits: 1)
        report.add("server_cpu_pct", serverCPU.map { 100 * $0 / duration }, digits: 1)
        if publisher != nil {
            report.add("published", total.published)
            report.add("expected", total.published * channels.count)
        }
        if script.probe != nil { report.add("deliveries", count: total.deliveries, over: duration, latencies: total.latencies) }
        if script.echo != nil { report.add("round_trips", count: total.roundTrips, over: duration, latencies: total.roundTripLatencies) }
        report.add("other_events", total.otherEvents)
        report.add("pings_answered", total.pingsAnswered)
        report.add("closed_by_server", channels.filter { !$0.isActive }.count)
        print(report.json)
        fflush(nil)

        for channel in channels { channel.close(promise: nil) }
        publisher?.close(promise: nil)
        try await group.shutdownGracefully()
    }

    /// Runs `body` with the channel's client handler, on its event loop.
    private static func onHandler(of channel: any Channel, _ body: @escaping @Sendable (LoadClientHandler) -> Void) {
        channel.eventLoop.execute {
            if let handler = try? channel.pipeline.syncOperations.handler(type: LoadClientHandler.self) { body(handler) }
        }
    }
}

/// Where to connect: host, port and the WebSocket request URI.
struct Endpoint: Sendable {
    var host: String
    var port: Int
    var uri: String

    init?(url: String, path: String) {
        guard url.hasPrefix("http://") else { return nil }
        let authority = url.dropFirst("http://".count).prefix { $0 != "/" }
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) else { return nil }
        host = String(authority[..<colon])
        self.port = port
        uri = path + "?EIO=4&transport=websocket"
    }
}
