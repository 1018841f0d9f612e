internal import Foundation
internal import HTTPTypes
public import Hummingbird
@_spi(GraphEmulator) internal import Messenger
internal import NIOCore

extension GraphEmulator {
    /// Adds the graph.facebook.com routes under any version prefix (`/v25.0/…`).
    public func addGraphRoutes(to router: Router<EmulatorRequestContext>) {
        let emulator = self
        router.get("/:version/me") { request, context in
            try emulator.respond(emulator.me(token: emulator.token(request)), request, context)
        }
        router.post("/:version/:id/messages") { request, context in
            let page = context.parameters.get("id") ?? ""
            let body = try await request.body.collect(upTo: 1 << 20)
            let answer = await emulator.messages(pagePath: page, token: emulator.token(request), body: Array(body.readableBytesView))
            return try emulator.respond(answer, request, context)
        }
        router.post("/:version/:id/subscribed_apps") { request, context in
            let page = context.parameters.get("id") ?? ""
            let body = try await request.body.collect(upTo: 1 << 16)
            var fields = request.uri.queryParameters.get("subscribed_fields")
            if fields == nil, let json = JSONValue.parse(Array(body.readableBytesView)) {
                fields =
                    json["subscribed_fields"]?.string
                    ?? json["subscribed_fields"]?.array?.compactMap(\.string).joined(separator: ",")
            }
            let list = (fields ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return try emulator.respond(
                emulator.subscribeApp(pagePath: page, token: emulator.token(request), fields: list),
                request,
                context
            )
        }
        router.get("/:version/:id/subscribed_apps") { request, context in
            let page = context.parameters.get("id") ?? ""
            return try emulator.respond(emulator.subscribedApps(pagePath: page, token: emulator.token(request)), request, context)
        }
        router.get("/:version/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let fields = (request.uri.queryParameters.get("fields") ?? "").split(separator: ",").map(String.init)
            let host = request.head.authority ?? "127.0.0.1"
            return try emulator.respond(
                emulator.profile(id: id, token: emulator.token(request), fields: fields, avatarBase: "http://\(host)"),
                request,
                context
            )
        }
    }

    /// The token from `Authorization: Bearer …`, else from `?access_token=` (Graph takes both).
    func token(_ request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]) }
            if parts.count == 2, parts[0].lowercased() == "oauth" { return String(parts[1]) }
        }
        guard let token = request.uri.queryParameters.get("access_token") else { return nil }
        noteTokenInURL()
        return token
    }

    func respond(_ answer: GraphAnswer, _ request: Request, _ context: EmulatorRequestContext) throws -> Response {
        switch answer {
        case .json(let status, let value, let usage):
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=UTF-8"
            headers[.init("facebook-api-version")!] = "v25.0"
            if let usage { headers[.init("X-Business-Use-Case-Usage")!] = usage }
            return Response(
                status: .init(code: status),
                headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: value.jsonText))
            )
        case .reset:
            context.channel.close(mode: .all, promise: nil)
            throw HTTPError(.internalServerError)
        }
    }
}
