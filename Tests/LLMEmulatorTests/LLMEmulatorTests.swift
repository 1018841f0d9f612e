import AsyncHTTPClient
import Foundation
import LLM
import LLMEmulator
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// The emulator's wire behaviour, read with a plain HTTP client (not our LLM client), so
/// the two cannot agree on a mistake.
@Suite struct LLMEmulatorTests {
    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: String
    }

    static func call(_ url: String, method: HTTPMethod = .POST, json: String? = nil, bearer: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(Array(json.utf8))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    static func run(
        _ configuration: LLMEmulatorConfiguration = LLMEmulatorConfiguration(),
        _ body: @Sendable (LLMEmulator, String) async throws -> Void
    ) async throws {
        var logger = Logger(label: "llm-emulator-test")
        logger.logLevel = .error
        let emulator = LLMEmulator(configuration: configuration, logger: logger)
        return try await LLMEmulatorServer.withRunning(emulator) { try await body(emulator, $0) }
    }

    static func object(_ text: String) throws -> LLMJSON {
        try JSONDecoder().decode(LLMJSON.self, from: Data(text.utf8))
    }

    let request = #"{"model":"gpt-x","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there"}]}"#

    @Test func aCompletionHasOpenAIsShape() async throws {
        try await Self.run { _, base async throws in
            let answer = try await Self.call(base + "/chat/completions", json: request)
            #expect(answer.status == 200)
            let json = try Self.object(answer.body)
            #expect(json["object"] == "chat.completion")
            #expect(json["model"] == "gpt-x")
            guard case .array(let choices) = json["choices"], let choice = choices.first else {
                Issue.record("no choices")
                return
            }
            #expect(choice["message"]?["role"] == "assistant")
            #expect(choice["message"]?["content"] == "Hello! How can I help you today?")
            #expect(choice["finish_reason"] == "stop")
            #expect(json["usage"]?["total_tokens"] != nil)
        }
    }

    @Test func aStreamIsDataFramesEndingInDone() async throws {
        try await Self.run { emulator, base async throws in
            emulator.enqueue(.text("One two three"))
            let streamed = #"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}"#
            let answer = try await Self.call(base + "/chat/completions", json: streamed)
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "content-type") == "text/event-stream")
            #expect(answer.body.hasSuffix("\n\n"))
            let frames = answer.body.components(separatedBy: "\n\n").dropLast()
            #expect(frames.allSatisfy { $0.hasPrefix("data: ") })
            #expect(frames.last == "data: [DONE]")
            let chunks = try frames.dropLast().map { try Self.object(String($0.dropFirst(6))) }
            let text = chunks.compactMap { chunk -> String? in
                guard case .array(let choices) = chunk["choices"] else { return nil }
                return choices.first?["delta"]?["content"]?.string
            }.joined()
            #expect(text == "One two three")
            #expect(chunks.last?["usage"]?["prompt_tokens"] != nil)
        }
    }

    /// With a latency, a stream behaves like a model writing: the first token comes halfway,
    /// the last (and the recorded end of the answer) when the latency is up.
    @Test func aSlowStreamSendsItsFirstTokenLongBeforeItsEnd() async throws {
        try await Self.run(LLMEmulatorConfiguration(latency: .seconds(2))) { emulator, base async throws in
            emulator.enqueue(.text("One two three"))
            var request = HTTPClientRequest(url: base + "/chat/completions")
            request.method = .POST
            request.body = .bytes(Array(#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#.utf8))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            var parts: [String] = []
            for try await part in response.body { parts.append(String(buffer: part)) }
            #expect(parts.first?.contains("\"role\":\"assistant\"") == true)
            #expect(parts.first?.contains("[DONE]") == false, "the whole answer came at once")
            #expect(parts.joined().hasSuffix("data: [DONE]\n\n"))
            let recorded = try #require(emulator.requests.first)
            let answeredAt = try #require(recorded.answeredAt)
            #expect(answeredAt.timeIntervalSince(recorded.receivedAt) >= 2)
        }
    }

    /// A latency fault delays the answer and then streams all of it.
    @Test func aLatencyFaultStillStreamsTheWholeAnswer() async throws {
        try await Self.run { emulator, base async throws in
            emulator.enqueue(.text("One two three"))
            emulator.inject(LLMFault(.latency(.milliseconds(20))))
            let streamed = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#
            let answer = try await Self.call(base + "/chat/completions", json: streamed)
            #expect(answer.body.hasSuffix("data: [DONE]\n\n"))
            #expect(answer.body.contains("three"))
        }
    }

    @Test func askingForAHumanCallsTheHandoverToolWhenOffered() async throws {
        try await Self.run { emulator, base async throws in
            let withTool =
                #"{"model":"m","messages":[{"role":"user","content":"I need a human"}],"tools":[{"type":"function","function":{"name":"handover","description":"d","parameters":{}}}]}"#
            let json = try Self.object(try await Self.call(base + "/chat/completions", json: withTool).body)
            guard case .array(let choices) = json["choices"], case .array(let calls)? = choices.first?["message"]?["tool_calls"] else {
                Issue.record("no tool call")
                return
            }
            #expect(calls.first?["function"]?["name"] == "handover")
            #expect(choices.first?["finish_reason"] == "tool_calls")
            #expect(emulator.requests.first?.toolNames == ["handover"])

            let withoutTool = #"{"model":"m","messages":[{"role":"user","content":"I need a human"}]}"#
            let plain = try Self.object(try await Self.call(base + "/chat/completions", json: withoutTool).body)
            guard case .array(let plainChoices) = plain["choices"] else { return }
            #expect(plainChoices.first?["message"]?["content"] == "I'll get a human to help you.")
        }
    }

    @Test func faultsComeInOrderThenNormalAnswers() async throws {
        try await Self.run { emulator, base async throws in
            emulator.inject(LLMFault(.status(429, retryAfter: "3")))
            emulator.inject(LLMFault(.status(500)))
            let limited = try await Self.call(base + "/chat/completions", json: request)
            #expect(limited.status == 429)
            #expect(limited.headers.first(name: "retry-after") == "3")
            #expect(try Self.object(limited.body)["error"]?["type"] == "rate_limit_error")
            #expect(try await Self.call(base + "/chat/completions", json: request).status == 500)
            #expect(try await Self.call(base + "/chat/completions", json: request).status == 200)
            #expect(emulator.requests.map(\.number) == [1, 2, 3])
        }
    }

    @Test func aConfiguredKeyIsRequired() async throws {
        try await Self.run(LLMEmulatorConfiguration(apiKey: "sk-good")) { emulator, base async throws in
            #expect(try await Self.call(base + "/chat/completions", json: request).status == 401)
            #expect(try await Self.call(base + "/chat/completions", json: request, bearer: "sk-bad").status == 401)
            #expect(try await Self.call(base + "/chat/completions", json: request, bearer: "sk-good").status == 200)
            #expect(emulator.requests.map(\.authorization) == [nil, "Bearer sk-bad", "Bearer sk-good"])
        }
    }

    @Test func aBodyThatIsNotJSONIsRefused() async throws {
        try await Self.run { emulator, base async throws in
            #expect(try await Self.call(base + "/chat/completions", json: "{nope").status == 400)
            #expect(emulator.requests.isEmpty)
        }
    }

    @Test func theControlRoutesScriptAndRecord() async throws {
        try await Self.run { _, base async throws in
            let root = String(base.dropLast(3))
            #expect(try await Self.call(root + "/_emulator/faults", json: #"{"status":503,"count":1}"#).status == 201)
            #expect(try await Self.call(root + "/_emulator/answers", json: #"{"text":"Scripted!"}"#).status == 201)
            #expect(try await Self.call(root + "/_emulator/faults", json: #"{"unknown":true}"#).status == 400)
            #expect(try await Self.call(base + "/chat/completions", json: request).status == 503)
            let answer = try Self.object(try await Self.call(base + "/chat/completions", json: request).body)
            guard case .array(let choices) = answer["choices"] else { return }
            #expect(choices.first?["message"]?["content"] == "Scripted!")
            let recorded = try Self.object(try await Self.call(root + "/_emulator/requests", method: .GET).body)
            guard case .array(let requests) = recorded["requests"] else { return }
            #expect(requests.count == 2)
            #expect(requests.first?["messages"] == [["role": "system", "content": "Be brief."], ["role": "user", "content": "Hello there"]])
            let models = try Self.object(try await Self.call(base + "/models", method: .GET).body)
            #expect(models["object"] == "list")
        }
    }
}
