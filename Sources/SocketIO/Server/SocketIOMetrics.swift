import CoreMetrics
import EngineIO
import Synchronization

/// The server's swift-metrics instruments. Labels:
/// `socketio_connected_clients{transport}`, `socketio_packets_in_total`,
/// `socketio_packets_out_total`, `socketio_bytes_in_total`, `socketio_bytes_out_total`,
/// `socketio_slow_clients_dropped_total`, `socketio_recoveries_total`.
final class SocketIOMetrics: Sendable {
    let pollingClients = Gauge(label: "socketio_connected_clients", dimensions: [("transport", "polling")])
    let webSocketClients = Gauge(label: "socketio_connected_clients", dimensions: [("transport", "websocket")])
    let packetsIn = Counter(label: "socketio_packets_in_total")
    let packetsOut = Counter(label: "socketio_packets_out_total")
    let bytesIn = Counter(label: "socketio_bytes_in_total")
    let bytesOut = Counter(label: "socketio_bytes_out_total")
    let slowClients = Counter(label: "socketio_slow_clients_dropped_total")
    let recoveries = Counter(label: "socketio_recoveries_total")
    let counts = Mutex<(polling: Int, websocket: Int)>((0, 0))

    func clientOpened(_ transport: EngineIOTransport) { adjust(transport, by: 1) }
    func clientClosed(_ transport: EngineIOTransport) { adjust(transport, by: -1) }
    func clientUpgraded() {
        adjust(.polling, by: -1)
        adjust(.websocket, by: 1)
    }

    /// Clients per transport right now.
    var connected: (polling: Int, websocket: Int) { counts.withLock { $0 } }

    private func adjust(_ transport: EngineIOTransport, by delta: Int) {
        let value = counts.withLock { counts -> Int in
            switch transport {
            case .polling:
                counts.polling += delta
                return counts.polling
            case .websocket:
                counts.websocket += delta
                return counts.websocket
            }
        }
        (transport == .polling ? pollingClients : webSocketClients).record(value)
    }

    func sent(_ frames: [EngineIOFrame], recipients: Int = 1) {
        guard recipients > 0 else { return }
        packetsOut.increment(by: recipients)
        var bytes = 0
        for frame in frames { bytes += frame.byteCount }
        bytesOut.increment(by: bytes * recipients)
    }
}
