import Hummingbird
import Metrics
import NIOCore
import Prometheus
import Synchronization

/// `/healthz` (the process answers), `/readyz` (the database answers and its schema is
/// current; 200 `degraded: …` while a part that can be missed, Redis, is down, since
/// webhooks are still accepted) and `/metrics` (Prometheus text format).
struct OperationsRoutes {
    let readiness: @Sendable () async -> String?
    let degradation: @Sendable () async -> String?

    func register(on router: Router<SwitchboardRequestContext>) {
        router.get("/healthz") { _, _ in WebhookRoutes.text(.ok, "ok") }
        router.get("/readyz") { _, _ in
            if let problem = await readiness() {
                return WebhookRoutes.text(.serviceUnavailable, "unavailable: \(problem)")
            }
            if let degraded = await degradation() {
                return WebhookRoutes.text(.ok, "degraded: \(degraded)")
            }
            return WebhookRoutes.text(.ok, "ready")
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: MetricsBootstrap.registry.emitToBuffer()))
            )
        }
    }
}

/// swift-metrics can be bootstrapped once per process; tests build many applications.
public enum MetricsBootstrap {
    static let registry = PrometheusCollectorRegistry()
    private static let done = Mutex(false)

    /// Points swift-metrics at the Prometheus registry (idempotent).
    public static func bootstrap() {
        done.withLock { done in
            guard !done else { return }
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            done = true
        }
    }
}
