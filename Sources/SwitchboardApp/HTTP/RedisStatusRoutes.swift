import Hummingbird
import NIOCore
import SwitchboardRedis

/// `GET /api/dev/redis-status`: the seed contract's three keys, in its order —
/// `{"status":"connected","message":"Redis is running and accessible","url":"redis://localhost:6379"}`
/// (password masked); `disconnected` answers 503, `not_configured` (no `REDIS_URL`: the
/// embedded queue) 200.
struct RedisStatusRoutes {
    let backend: RedisBackend?

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        group.get("/dev/redis-status") { _, _ in
            let report = await backend?.statusReport() ?? .notConfigured
            return Response(
                status: report.status == .disconnected ? .serviceUnavailable : .ok,
                headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: report.json))
            )
        }
    }
}
