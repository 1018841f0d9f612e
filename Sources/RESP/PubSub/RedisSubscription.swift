/// The messages of one `subscribe`/`psubscribe` call, as an `AsyncSequence`.
///
/// Ends when ``unsubscribe()`` is called, when the client shuts down, or when the consuming
/// task is cancelled; the server-side subscription is dropped when no local subscription
/// needs the channel any more. Messages published while the connection is down are lost
/// (that is pub/sub); after a reconnect the client resubscribes by itself.
public struct RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisPubSubMessage
    public typealias AsyncIterator = AsyncThrowingStream<RedisPubSubMessage, any Error>.Iterator

    let stream: AsyncThrowingStream<RedisPubSubMessage, any Error>
    let continuation: AsyncThrowingStream<RedisPubSubMessage, any Error>.Continuation

    public func makeAsyncIterator() -> AsyncIterator {
        stream.makeAsyncIterator()
    }

    /// Ends this subscription (the sequence finishes) and unsubscribes what no one else needs.
    public func unsubscribe() {
        continuation.finish()
    }
}
