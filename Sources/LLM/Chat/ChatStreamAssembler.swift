internal import Foundation

/// Builds one `ChatCompletion` from the `data:` payloads of a streamed answer, a value with
/// no I/O.
///
/// Text deltas are concatenated; tool-call deltas are merged by their `index` (the first
/// one carries `id` and `name`, later ones only pieces of `arguments`), as OpenAI streams
/// them. `consume` returns what to report to the caller now, `firstToken` exactly once and
/// first. The stream is complete at `[DONE]`; a stream that ends without it but with a
/// finish reason is accepted (some compatible servers omit the sentinel).
public struct ChatStreamAssembler: Sendable {
    private struct PartialCall: Sendable {
        var id: String?
        var name: String?
        var arguments = ""
        var reported = false
    }

    private var content = ""
    private var hasContent = false
    private var calls: [Int: PartialCall] = [:]
    private var finishReason: FinishReason?
    private var usage: TokenUsage?
    private var model: String?
    private var sawFirstToken = false
    /// True once `[DONE]` arrived.
    public private(set) var isDone = false

    public init() {}

    /// Takes one event's data; returns the events to report, in order.
    public mutating func consume(_ data: String) throws(LLMError) -> [ChatStreamEvent] {
        if isDone { return [] }
        if data.trimmingCharacters(in: .whitespaces) == "[DONE]" {
            isDone = true
            return []
        }
        guard let chunk = LLMWire.decode(LLMWire.Chunk.self, Array(data.utf8)) else {
            throw LLMError(.badResponse, "a stream chunk is not JSON (\(data.utf8.count) bytes)")
        }
        if let error = chunk.error {
            throw LLMError(.serverError, "the provider reported an error mid-stream: \(error.message ?? "no message")")
        }
        if let model = chunk.model { self.model = model }
        if let usage = chunk.usage { self.usage = usage.value }
        var events: [ChatStreamEvent] = []
        for choice in chunk.choices ?? [] where (choice.index ?? 0) == 0 {
            if let reason = choice.finish_reason { finishReason = FinishReason(reason) }
            if let text = choice.delta?.content, !text.isEmpty {
                noteFirstToken(&events)
                content += text
                hasContent = true
                events.append(.contentDelta(text))
            }
            for delta in choice.delta?.tool_calls ?? [] {
                let index = delta.index ?? 0
                var call = calls[index] ?? PartialCall()
                if let id = delta.id, !id.isEmpty { call.id = id }
                if let name = delta.function?.name, !name.isEmpty { call.name = (call.name ?? "") + name }
                if let arguments = delta.function?.arguments { call.arguments += arguments }
                if !call.reported, let name = call.name {
                    noteFirstToken(&events)
                    call.reported = true
                    events.append(.toolCallStarted(id: call.id ?? "call_\(index)", name: name))
                }
                calls[index] = call
            }
        }
        return events
    }

    private mutating func noteFirstToken(_ events: inout [ChatStreamEvent]) {
        guard !sawFirstToken else { return }
        sawFirstToken = true
        events.append(.firstToken)
    }

    /// The answer, once the stream has ended; `llm.bad_response` when it ended early.
    public func completion(attempts: Int = 1) throws(LLMError) -> ChatCompletion {
        guard isDone || finishReason != nil else {
            throw LLMError(.badResponse, "the stream ended before the answer was complete")
        }
        var toolCalls: [ToolCall] = []
        for index in calls.keys.sorted() {
            let call = calls[index]!
            guard let name = call.name else {
                throw LLMError(.badResponse, "streamed tool call \(index) never got a function name")
            }
            toolCalls.append(ToolCall(id: call.id ?? "call_\(index)", name: name, arguments: call.arguments))
        }
        return ChatCompletion(
            content: hasContent ? content : nil,
            toolCalls: toolCalls,
            finishReason: finishReason,
            usage: usage,
            model: model,
            attempts: attempts
        )
    }
}
