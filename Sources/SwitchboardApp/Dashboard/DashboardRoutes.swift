import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Serves the dashboard: the app shell at `/` (it asks `/api/me` and goes to `/sign-in`
/// when that answers 401), the sign-in page, and `/assets/{file}`. Every answer carries
/// a strict Content-Security-Policy (no inline script or style, same-origin connections
/// only) and an ETag; `Cache-Control: no-cache` makes browsers revalidate, so a new
/// binary's files are picked up at once and unchanged ones cost a 304.
struct DashboardRoutes {
    let assets: DashboardAssets

    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    func register(on router: Router<SwitchboardRequestContext>) {
        router.get("/") { request, _ in serve("index.html", request) }
        router.get("/sign-in") { request, _ in serve("sign-in.html", request) }
        router.get("/assets/:file") { request, context in serve(context.parameters.get("file") ?? "", request) }
    }

    private func serve(_ name: String, _ request: Request) -> Response {
        guard let asset = assets.files[name] else {
            return Response(
                status: .notFound,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "not found"))
            )
        }
        var headers: HTTPFields = [
            .eTag: asset.etag, .cacheControl: "no-cache", .contentSecurityPolicy: Self.contentSecurityPolicy,
            .xContentTypeOptions: "nosniff", .referrerPolicy: "same-origin",
        ]
        if request.headers[.ifNoneMatch]?.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == asset.etag }) == true {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.body))
    }
}
