import Logging
import Messenger
import SwitchboardCore
import Synchronization

/// Agents' typing → Messenger's typing indicator, one ``CustomerTypingIndicator`` per
/// conversation. The gateway feeds it typing signals and sent messages, and ticks it every
/// second; it sends `typing_on`/`typing_off` through ``SenderActions`` (outside the window
/// or without a connected Page nothing is sent, and that is not an error worth more than
/// a debug line).
final class TypingRelay: Sendable {
    typealias Indicator = CustomerTypingIndicator<ContinuousClock.Instant>

    private let indicators = Mutex<[String: Indicator]>([:])
    private let senderActions: SenderActions
    private let timing: Indicator.Timing
    private let clock = ContinuousClock()
    private let logger: Logger

    init(senderActions: SenderActions, timing: Indicator.Timing = .init(), logger: Logger) {
        self.senderActions = senderActions
        self.timing = timing
        self.logger = logger
    }

    func start(userId: String, conversationId: String) async {
        await update(conversationId) { $0.start(userId, at: clock.now) }
    }

    func stop(userId: String, conversationId: String) async {
        await update(conversationId) { $0.stop(userId, at: clock.now) }
    }

    /// A message went out in the conversation: Messenger cleared the indicator.
    func messageSent(conversationId: String) {
        indicators.withLock { $0[conversationId] = nil }
    }

    /// Expires quiet typers and refreshes live indicators.
    func tick() async {
        let now = clock.now
        let actions = indicators.withLock { all in
            var actions: [(String, Indicator.Action)] = []
            for key in Array(all.keys) {
                if let action = all[key]?.tick(at: now) { actions.append((key, action)) }
                if all[key]?.isIdle == true { all[key] = nil }
            }
            return actions
        }
        for (conversationId, action) in actions { await perform(action, conversationId: conversationId) }
    }

    private func update(_ conversationId: String, _ change: (inout Indicator) -> Indicator.Action?) async {
        let action = indicators.withLock { all in
            var indicator = all[conversationId] ?? Indicator(timing: timing)
            let action = change(&indicator)
            all[conversationId] = indicator.isIdle ? nil : indicator
            return action
        }
        if let action { await perform(action, conversationId: conversationId) }
    }

    private func perform(_ action: Indicator.Action, conversationId: String) async {
        do {
            _ = try await senderActions.send(action == .typingOn ? .typingOn : .typingOff, conversationId: conversationId, throttled: false)
        } catch {
            logger.debug("typing indicator not sent", metadata: ["conversation": "\(conversationId)", "error": "\(error)"])
        }
    }
}
