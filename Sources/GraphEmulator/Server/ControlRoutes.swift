internal import Foundation
internal import HTTPTypes
public import Hummingbird
@_spi(GraphEmulator) internal import Messenger
internal import NIOCore

/// The control API tests and demo tooling use over HTTP, under `/_emulator`.
///
/// - `GET  /_emulator/pages/{page}/customers` — customers of a Page
/// - `POST /_emulator/pages/{page}/customers` `{"firstName","lastName","psid"?,"readsMessages"?,"profile"?}`
/// - `POST /_emulator/pages/{page}/customers/{psid}/messages` `{"text"}` — the customer writes; `{"mid"}`
/// - `GET  /_emulator/pages/{page}/customers/{psid}/received` — messages received, in order
/// - `GET  /_emulator/pages/{page}/customers/{psid}/sender_actions`
/// - `POST /_emulator/faults` `{"pageId"?,"psid"?,"nthSend"?,"count"?,"includeSenderActions"?,`
///   `"error":{"code","subcode"?,"status"?,"message"?}` | `"latencyMs"` | `"timeoutAfterAccepting":{"holdMs"?}` |
///   `"resetAfterRead":{"deliver"?}}`
/// - `DELETE /_emulator/faults`
/// - `POST /_emulator/clock` `{"advanceSeconds"}` or `{"offsetSeconds"}` or `{"freeze":true|false}`; `GET` gives now
/// - `GET  /_emulator/avatars/{page}/{psid}.svg` — the avatar `profile_pic` points to
extension GraphEmulator {
    public func addControlRoutes(to router: Router<EmulatorRequestContext>) {
        let emulator = self
        let group = router.group("_emulator")

        group.get("pages/:page/customers") { _, context in
            let page = context.parameters.get("page") ?? ""
            return Self.json(.array(emulator.customers(pageId: page).map(Self.customerJSON)))
        }
        group.post("pages/:page/customers") { request, context in
            let page = context.parameters.get("page") ?? ""
            let body = try await Self.body(request)
            let profile = body["profile"]?.string.flatMap(EmulatedCustomer.ProfileVisibility.init(rawValue:)) ?? .visible
            let simulator = emulator.addCustomer(
                pageId: page,
                psid: body["psid"]?.id,
                firstName: body["firstName"]?.string ?? "Test",
                lastName: body["lastName"]?.string ?? "Customer",
                profile: profile,
                readsMessages: body["readsMessages"]?.bool ?? true
            )
            let customer = emulator.customers(pageId: page).first { $0.psid == simulator.psid }
            return Self.json(customer.map(Self.customerJSON) ?? .null, status: .created)
        }
        group.post("pages/:page/customers/:psid/messages") { request, context in
            let page = context.parameters.get("page") ?? ""
            let psid = context.parameters.get("psid") ?? ""
            guard let customer = emulator.customer(pageId: page, psid: psid) else {
                return Self.json(.object(["error": .string("unknown customer")]), status: .notFound)
            }
            let body = try await Self.body(request)
            do {
                let mid = try await customer.say(body["text"]?.string ?? "", replyTo: body["replyTo"]?.string)
                return Self.json(.object(["mid": .string(mid)]))
            } catch {
                return Self.json(.object(["error": .string("\(error)")]), status: .badGateway)
            }
        }
        group.get("pages/:page/customers/:psid/received") { _, context in
            let messages = emulator.received(pageId: context.parameters.get("page") ?? "", psid: context.parameters.get("psid") ?? "")
            return try Self.encoded(messages)
        }
        group.get("pages/:page/customers/:psid/sender_actions") { _, context in
            let actions = emulator.senderActions(
                pageId: context.parameters.get("page") ?? "",
                psid: context.parameters.get("psid") ?? ""
            )
            return try Self.encoded(actions)
        }
        group.get("receipts") { _, _ in
            Self.json(.object(["unposted": .int(Int64(emulator.unpostedReceipts))]))
        }
        group.post("faults") { request, _ in
            let body = try await Self.body(request)
            guard let fault = Self.fault(from: body) else {
                return Self.json(.object(["error": .string("say error, latencyMs, timeoutAfterAccepting or resetAfterRead")]), status: .badRequest)
            }
            emulator.inject(fault)
            return Self.json(.object(["ok": .bool(true)]), status: .created)
        }
        group.delete("faults") { _, _ in
            emulator.clearFaults()
            return Self.json(.object(["ok": .bool(true)]))
        }
        group.get("clock") { _, _ in
            Self.json(.object(["nowMs": .int(emulator.clock.nowMilliseconds)]))
        }
        group.post("clock") { request, _ in
            let body = try await Self.body(request)
            if let seconds = body["advanceSeconds"]?.int64 { emulator.clock.advance(by: TimeInterval(seconds)) }
            if let seconds = body["offsetSeconds"]?.int64 { emulator.clock.setOffset(TimeInterval(seconds)) }
            if let freeze = body["freeze"]?.bool { freeze ? emulator.clock.freeze() : emulator.clock.resume() }
            return Self.json(.object(["nowMs": .int(emulator.clock.nowMilliseconds)]))
        }
        group.get("avatars/:page/:file") { _, context in
            let psid = (context.parameters.get("file") ?? "").replacingOccurrences(of: ".svg", with: "")
            let customer = emulator.customers(pageId: context.parameters.get("page") ?? "").first { $0.psid == psid }
            var headers = HTTPFields()
            headers[.contentType] = "image/svg+xml"
            headers[.cacheControl] = "public, max-age=86400"
            let svg = Avatar.svg(first: customer?.firstName ?? "?", last: customer?.lastName ?? "", seed: psid)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: svg)))
        }
    }

    static func fault(from body: JSONValue) -> Fault? {
        let effect: Fault.Effect
        if let error = body["error"], let code = error["code"]?.int64 {
            effect = .graphError(
                code: Int(code),
                subcode: error["subcode"]?.int64.map { Int($0) },
                status: error["status"]?.int64.map { Int($0) },
                message: error["message"]?.string
            )
        } else if let latency = body["latencyMs"]?.int64 {
            effect = .latency(.milliseconds(latency))
        } else if let timeout = body["timeoutAfterAccepting"] {
            effect = .timeoutAfterAccepting(hold: timeout["holdMs"]?.int64.map { .milliseconds($0) })
        } else if let reset = body["resetAfterRead"] {
            effect = .resetAfterRead(deliver: reset["deliver"]?.bool ?? false)
        } else {
            return nil
        }
        return Fault(
            effect,
            pageId: body["pageId"]?.id,
            psid: body["psid"]?.id,
            nthSend: body["nthSend"]?.int64.map { Int($0) },
            count: Int(body["count"]?.int64 ?? 1),
            includeSenderActions: body["includeSenderActions"]?.bool ?? false
        )
    }

    static func customerJSON(_ customer: EmulatedCustomer) -> JSONValue {
        var object: [String: JSONValue] = [
            "pageId": .string(customer.pageId), "psid": .string(customer.psid), "firstName": .string(customer.firstName),
            "lastName": .string(customer.lastName), "profile": .string(customer.profile.rawValue),
            "readsMessages": .bool(customer.readsMessages),
        ]
        if let last = customer.lastInboundAt { object["lastInboundAtMs"] = .int(Int64(last.timeIntervalSince1970 * 1000)) }
        return .object(object)
    }

    static func body(_ request: Request) async throws -> JSONValue {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        return JSONValue.parse(Array(buffer.readableBytesView)) ?? .object([:])
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }

    static func encoded(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
