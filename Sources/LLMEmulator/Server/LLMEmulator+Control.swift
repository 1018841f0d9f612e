internal import Foundation
public import Hummingbird
internal import LLM

/// The control API over HTTP (`/_emulator`), for demos, scripts and the bot benchmark:
/// the same knobs as the Swift API.
extension LLMEmulator {
    public func addControlRoutes<Context: RequestContext>(to router: Router<Context>) {
        let emulator = self
        let control = router.group("_emulator")
        // {"status": 429, "retryAfter": "2"} | {"hang": true} | {"hangAfterFirstChunk": true}
        // | {"malformedStream": true} | {"truncatedStream": true} | {"latencyMs": 800}; "count" optional.
        control.post("faults") { request, _ in
            guard let json = try await Self.json(request), let effect = Self.faultEffect(json) else {
                return Self.response(status: 400, body: CompletionRenderer.error(status: 400))
            }
            let count = Self.int(json["count"]) ?? 1
            emulator.inject(LLMFault(effect, count: count))
            return Self.response(status: 201, body: "{}")
        }
        control.delete("faults") { _, _ in
            emulator.reset()
            return Self.response(status: 200, body: "{}")
        }
        // {"text": "…"} | {"toolCall": {"name": "handover", "arguments": "{}"}}
        control.post("answers") { request, _ in
            guard let json = try await Self.json(request) else { return Self.response(status: 400, body: CompletionRenderer.error(status: 400)) }
            if let text = json["text"]?.string {
                emulator.enqueue(.text(text))
            } else if let name = json["toolCall"]?["name"]?.string {
                emulator.enqueue(.toolCall(name: name, arguments: json["toolCall"]?["arguments"]?.string ?? "{}"))
            } else {
                return Self.response(status: 400, body: CompletionRenderer.error(status: 400))
            }
            return Self.response(status: 201, body: "{}")
        }
        // {"latencyMs": 500}
        control.post("latency") { request, _ in
            guard let json = try await Self.json(request), let ms = Self.int(json["latencyMs"]) else {
                return Self.response(status: 400, body: CompletionRenderer.error(status: 400))
            }
            emulator.setLatency(.milliseconds(ms))
            return Self.response(status: 200, body: "{}")
        }
        control.get("requests") { _, _ in
            let items: [LLMJSON] = emulator.requests.map { recorded in
                [
                    "number": .number(Double(recorded.number)), "model": recorded.model.map(LLMJSON.string) ?? .null,
                    "stream": .bool(recorded.stream), "tools": .array(recorded.toolNames.map(LLMJSON.string)),
                    "receivedAtMs": .number(recorded.receivedAt.timeIntervalSince1970 * 1000),
                    "answeredAtMs": recorded.answeredAt.map { .number($0.timeIntervalSince1970 * 1000) } ?? .null,
                    "messages": .array(
                        recorded.messages.map { ["role": .string($0.role), "content": $0.content.map(LLMJSON.string) ?? .null] }
                    ),
                ]
            }
            return Self.response(status: 200, body: CompletionRenderer.json(["requests": .array(items)]))
        }
    }

    private static func json(_ request: Request) async throws -> LLMJSON? {
        let body = try await request.body.collect(upTo: 1 << 20)
        return try? JSONDecoder().decode(LLMJSON.self, from: Data(body.readableBytesView))
    }

    private static func int(_ value: LLMJSON?) -> Int? {
        if case .number(let number) = value, number >= 0, number < 1e9 { return Int(number) }
        return nil
    }

    static func faultEffect(_ json: LLMJSON) -> LLMFault.Effect? {
        if let status = int(json["status"]) { return .status(status, retryAfter: json["retryAfter"]?.string) }
        if json["hang"] == .bool(true) { return .hang }
        if json["hangAfterFirstChunk"] == .bool(true) { return .hangAfterFirstChunk }
        if json["malformedStream"] == .bool(true) { return .malformedStream }
        if json["truncatedStream"] == .bool(true) { return .truncatedStream }
        if let ms = int(json["latencyMs"]) { return .latency(.milliseconds(ms)) }
        return nil
    }
}
