import SwitchboardCore
import Synchronization

/// Conversation id → Page id, which never changes once a conversation exists; used for
/// every access check and every realtime event, so it is kept in memory (bounded).
final class ConversationPageCache: Sendable {
    private let store: any Store
    private let entries = Mutex<[String: String]>([:])
    private let capacity: Int

    init(store: any Store, capacity: Int = 200_000) {
        self.store = store
        self.capacity = capacity
    }

    /// The Page of a conversation; `nil` when there is no such conversation.
    func pageId(of conversationId: String) async throws -> String? {
        if let cached = entries.withLock({ $0[conversationId] }) { return cached }
        guard let page = try await store.conversation(id: conversationId)?.pageId else { return nil }
        entries.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[conversationId] = page
        }
        return page
    }
}
