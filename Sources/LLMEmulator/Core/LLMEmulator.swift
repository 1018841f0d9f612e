internal import Foundation
internal import LLM
public import Logging
internal import Synchronization

/// A local OpenAI-compatible chat-completions server, the LLM's stand-in in tests, demos
/// and the bot benchmark (what `GraphEmulator` is for graph.facebook.com).
///
/// It answers `/v1/chat/completions`, streamed or not, with scripted answers (`enqueue`)
/// or, when none is queued, a small rule-based model: a handover tool call when the
/// customer asks for a person, a greeting for a greeting, an acknowledgement otherwise.
/// Faults (`inject`) make the next calls fail the ways real providers do, and every request
/// is recorded so tests can assert the prompt. Serve it with `LLMEmulatorServer`.
public final class LLMEmulator: Sendable {
    let logger: Logger
    let state: Mutex<State>

    struct State: Sendable {
        var configuration: LLMEmulatorConfiguration
        var script: [ScriptedAnswer] = []
        var faults: [LLMFault] = []
        var requests: [RecordedChatRequest] = []
        var subscribers: [UUID: AsyncStream<LLMEmulatorEvent>.Continuation] = [:]

        /// Takes the first pending fault, consuming one of its uses.
        mutating func takeFault() -> LLMFault.Effect? {
            guard !faults.isEmpty else { return nil }
            faults[0].count -= 1
            let effect = faults[0].effect
            if faults[0].count <= 0 { faults.removeFirst() }
            return effect
        }
    }

    public init(configuration: LLMEmulatorConfiguration = LLMEmulatorConfiguration(), logger: Logger = Logger(label: "llm-emulator")) {
        self.logger = logger
        self.state = Mutex(State(configuration: configuration))
    }

    public var configuration: LLMEmulatorConfiguration { state.withLock { $0.configuration } }

    /// Changes the real-time delay before every answer.
    public func setLatency(_ latency: Duration) {
        state.withLock { $0.configuration.latency = latency }
    }

    // MARK: - Script and faults

    /// Queues answers for the next calls, in order (they win over the rule-based model).
    public func enqueue(_ answers: ScriptedAnswer...) {
        state.withLock { $0.script.append(contentsOf: answers) }
    }

    /// Makes the next calls fail; faults apply in the order injected.
    public func inject(_ fault: LLMFault) {
        state.withLock { $0.faults.append(fault) }
    }

    /// Removes pending faults and scripted answers.
    public func reset() {
        state.withLock {
            $0.faults.removeAll()
            $0.script.removeAll()
        }
    }

    // MARK: - What happened

    /// Every request received, in order.
    public var requests: [RecordedChatRequest] { state.withLock { $0.requests } }

    /// Everything that happens from now on.
    public func events() -> AsyncStream<LLMEmulatorEvent> {
        let (stream, continuation) = AsyncStream<LLMEmulatorEvent>.makeStream(bufferingPolicy: .unbounded)
        let id = UUID()
        state.withLock { $0.subscribers[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Records when request `number` was answered.
    func markAnswered(_ number: Int) {
        let now = Date()
        state.withLock { state in
            if state.requests.indices.contains(number - 1) { state.requests[number - 1].answeredAt = now }
        }
    }

    func emit(_ event: LLMEmulatorEvent) {
        for subscriber in state.withLock({ Array($0.subscribers.values) }) { subscriber.yield(event) }
    }

    // MARK: - Answering

    /// What one call gets: recorded, then a fault, a scripted answer or the rules' answer.
    struct Plan: Sendable {
        var request: RecordedChatRequest
        var fault: LLMFault.Effect?
        var answer: ScriptedAnswer
        var latency: Duration
        var unauthorized: Bool
    }

    func plan(body: [UInt8], authorization: String?, arrivedAt: Date) -> Plan? {
        guard let json = try? JSONDecoder().decode(LLMJSON.self, from: Data(body)), case .object = json else { return nil }
        return state.withLock { state in
            var request = RecordedChatRequest(
                number: state.requests.count + 1,
                json: json,
                authorization: authorization,
                body: String(decoding: body, as: UTF8.self)
            )
            request.receivedAt = arrivedAt
            state.requests.append(request)
            let expected = state.configuration.apiKey.map { "Bearer \($0)" }
            let unauthorized = expected != nil && expected != authorization
            let fault = unauthorized ? nil : state.takeFault()
            // A call that gets no answer at all leaves the scripted answers for the next ones.
            let answers: Bool =
                switch fault {
                case .status?, .hang?: false
                default: !unauthorized
                }
            let answer =
                answers && !state.script.isEmpty ? state.script.removeFirst() : RuleBasedModel(state.configuration).answer(to: request)
            return Plan(request: request, fault: fault, answer: answer, latency: state.configuration.latency, unauthorized: unauthorized)
        }
    }
}

extension RecordedChatRequest {
    init(number: Int, json: LLMJSON, authorization: String?, body: String) {
        func numeric(_ value: LLMJSON?) -> Double? {
            if case .number(let value) = value { return value }
            return nil
        }
        var messages: [RecordedMessage] = []
        if case .array(let items) = json["messages"] {
            for item in items {
                var content = item["content"]?.string
                if case .array(let parts) = item["content"] {
                    content = parts.compactMap { $0["text"]?.string }.joined(separator: "\n")
                }
                messages.append(
                    RecordedMessage(role: item["role"]?.string ?? "", content: content, toolCallId: item["tool_call_id"]?.string)
                )
            }
        }
        var toolNames: [String] = []
        if case .array(let tools) = json["tools"] {
            toolNames = tools.compactMap { $0["function"]?["name"]?.string }
        }
        self.init(
            number: number,
            model: json["model"]?.string,
            messages: messages,
            toolNames: toolNames,
            stream: json["stream"] == .bool(true),
            includeUsage: json["stream_options"]?["include_usage"] == .bool(true),
            temperature: numeric(json["temperature"]),
            maxTokens: numeric(json["max_tokens"]).map { Int($0) },
            authorization: authorization,
            body: body
        )
    }

    /// The text of the last `user` message.
    public var lastUserText: String? { messages.last { $0.role == "user" }?.content }
}
