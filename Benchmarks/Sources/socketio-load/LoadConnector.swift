import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Opens clients: TCP, the WebSocket upgrade, then the Socket.IO handshake (and join) run
/// by the client's handler; a client counts once it is ready.
struct LoadConnector: Sendable {
    let group: MultiThreadedEventLoopGroup
    let endpoint: Endpoint
    let timeout: TimeAmount

    private struct Connecting: Sendable {
        var channel: any Channel
        var ready: EventLoopFuture<Void>
    }

    /// Connects `count` clients, at most `concurrency` setting up at once. Failures are
    /// counted by reason.
    func connectAll(_ count: Int, script: LoadScript, concurrency: Int) async -> ([any Channel], [String: Int]) {
        await withTaskGroup(of: Result<any Channel, LoadClientFailure>.self) { group in
            var channels: [any Channel] = []
            var failures: [String: Int] = [:]
            var next = 0
            func collect(_ result: Result<any Channel, LoadClientFailure>) {
                switch result {
                case .success(let channel): channels.append(channel)
                case .failure(let failure): failures[failure.description, default: 0] += 1
                }
            }
            while next < count || !group.isEmpty {
                while next < count, next - channels.count - failures.values.reduce(0, +) < concurrency {
                    let client = next
                    group.addTask {
                        do {
                            return .success(try await connect(client: client, script: script))
                        } catch let failure as LoadClientFailure {
                            return .failure(failure)
                        } catch {
                            return .failure(LoadClientFailure(description: "\(error)"))
                        }
                    }
                    next += 1
                }
                if let result = await group.next() { collect(result) }
            }
            return (channels, failures)
        }
    }

    /// Connects one client and waits until it is ready.
    func connect(client: Int, script: LoadScript) async throws -> any Channel {
        let endpoint = endpoint
        let timeout = timeout
        let connecting = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ready = channel.eventLoop.makePromise(of: Void.self)
                    channel.eventLoop.scheduleTask(in: timeout) {
                        ready.fail(LoadClientFailure(description: "not ready in time"))
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<Void>(
                        maxFrameSize: 1 << 24,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                let machine = LoadClientMachine(script: script, client: client)
                                try channel.pipeline.syncOperations.addHandler(LoadClientHandler(machine: machine, ready: ready))
                            }
                        }
                    )
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: "\(endpoint.host):\(endpoint.port)")
                    headers.add(name: "Content-Length", value: "0")
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<Void>(
                        upgradeRequestHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.uri, headers: headers),
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeFailedFuture(LoadClientFailure(description: "WebSocket upgrade refused"))
                        }
                    )
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                    // The server's first frame may share a read with the 101 response.
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    let upgraded = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
                    upgraded.cascadeFailure(to: ready)
                    return Connecting(channel: channel, ready: ready.futureResult)
                }
            }
        do {
            try await connecting.ready.get()
        } catch {
            connecting.channel.close(promise: nil)
            throw error
        }
        return connecting.channel
    }
}
