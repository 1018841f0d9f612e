import Foundation
import LLM
public import Metrics
import SwitchboardCore

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

    func modelCall(page: String, duration: Duration, usage: TokenUsage?, failure: LLMError?) {
        Timer(label: "switchboard_bot_llm_latency_seconds", dimensions: [("page", page)], factory: factory)
            .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        if let usage {
            Counter(label: "switchboard_bot_llm_tokens_total", dimensions: [("page", page), ("kind", "prompt")], factory: factory)
                .increment(by: usage.promptTokens)
            Counter(label: "switchboard_bot_llm_tokens_total", dimensions: [("page", page), ("kind", "completion")], factory: factory)
                .increment(by: usage.completionTokens)
        }
        if let failure {
            Counter(label: "switchboard_bot_llm_failures_total", dimensions: [("page", page), ("code", failure.code.rawValue)], factory: factory)
                .increment()
        }
    }
}

/// A Page's model with its calls measured: a decorator, so the responder and the client
/// stay free of metrics.
struct MeteredLanguageModel: BotLanguageModel {
    let model: any BotLanguageModel
    let page: String
    let metrics: BotMetrics

    func answer(
        _ messages: [BotPromptMessage],
        tools: [ToolDefinition],
        onFirstToken: @escaping @Sendable () async -> Void
    ) async throws(LLMError) -> ChatCompletion {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let completion = try await model.answer(messages, tools: tools, onFirstToken: onFirstToken)
            metrics.modelCall(page: page, duration: start.duration(to: clock.now), usage: completion.usage, failure: nil)
            return completion
        } catch {
            metrics.modelCall(page: page, duration: start.duration(to: clock.now), usage: nil, failure: error)
            throw error
        }
    }
}
