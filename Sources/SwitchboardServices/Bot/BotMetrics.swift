import Foundation
import LLM
public import Metrics
import SwitchboardCore
import Synchronization

/// The bot's numbers per Page, for `/metrics` and the stats screen (issue 9, point 5):
/// replies, handovers by reason, the model's latency (a timer: the Prometheus backend gives
/// its quantiles), tokens and failures by code. The factory is injected so tests read the
/// values from a `TestMetrics` instead of the process-wide backend.
public struct BotMetrics: Sendable {
    let factory: any MetricsFactory

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    func replied(page: String) {
        Counter(label: "switchboard_bot_replies_total", dimensions: [("page", page)], factory: factory).increment()
    }

    func handedOver(page: String, reason: BotPauseReason) {
        Counter(label: "switchboard_bot_handovers_total", dimensions: [("page", page), ("reason", reason.rawValue)], factory: factory).increment()
    }

    func modelCall(page: String, _ call: BotModelCall) {
        Timer(label: "switchboard_bot_llm_latency_seconds", dimensions: [("page", page)], factory: factory)
            .recordNanoseconds(call.durationMilliseconds * 1_000_000)
        if let prompt = call.promptTokens, let completion = call.completionTokens {
            Counter(label: "switchboard_bot_llm_tokens_total", dimensions: [("page", page), ("kind", "prompt")], factory: factory)
                .increment(by: prompt)
            Counter(label: "switchboard_bot_llm_tokens_total", dimensions: [("page", page), ("kind", "completion")], factory: factory)
                .increment(by: completion)
        }
        if let failure = call.failure {
            Counter(label: "switchboard_bot_llm_failures_total", dimensions: [("page", page), ("code", failure)], factory: factory)
                .increment()
        }
    }
}

/// A Page's model with its calls measured: a decorator, so the responder and the client
/// stay free of metrics. One per answer: `call` is what the answer job stores with its
/// save (`bot_answers`) and counts in `/metrics`.
final class RecordingLanguageModel: BotLanguageModel {
    let model: any BotLanguageModel
    private let recorded = Mutex<BotModelCall?>(nil)

    init(_ model: any BotLanguageModel) {
        self.model = model
    }

    /// The last call's latency, tokens and failure code (nil before any call).
    var call: BotModelCall? { recorded.withLock { $0 } }

    func answer(
        _ messages: [BotPromptMessage],
        tools: [ToolDefinition],
        onFirstToken: @escaping @Sendable () async -> Void
    ) async throws(LLMError) -> ChatCompletion {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let completion = try await model.answer(messages, tools: tools, onFirstToken: onFirstToken)
            record(start.duration(to: clock.now), completion.usage, failure: nil)
            return completion
        } catch {
            record(start.duration(to: clock.now), nil, failure: error)
            throw error
        }
    }

    private func record(_ duration: Duration, _ usage: TokenUsage?, failure: LLMError?) {
        let call = BotModelCall(
            durationMilliseconds: duration.nanoseconds / 1_000_000,
            promptTokens: usage?.promptTokens,
            completionTokens: usage?.completionTokens,
            failure: failure?.code.rawValue
        )
        recorded.withLock { $0 = call }
    }
}
