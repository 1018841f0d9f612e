public import AsyncHTTPClient
public import Foundation
public import Logging
internal import NIOCore
internal import NIOHTTP1
internal import Synchronization

/// An OpenAI-compatible chat-completions client (`POST {baseURL}/chat/completions`).
///
/// Every call is bounded by `configuration.deadline`, measured on `clock` (a manual clock in
/// tests): retries, their waits and streaming all happen inside it, and when it passes the
/// call throws `llm.timeout` and its HTTP request is cancelled. Attempts that got 429, 5xx,
/// no connection or a per-attempt timeout are retried with backoff and jitter, waiting at
/// least the server's `Retry-After`; a wait that would end past the deadline is not started.
/// A streamed attempt is never retried once it reported output, so the caller never sees
/// two beginnings. The API key goes only into the `Authorization` header; nothing logged
/// holds it. The library starts no unstructured tasks.
public struct LLMClient<ClockType: Clock>: Sendable where ClockType.Duration == Duration {
    public let configuration: LLMConfiguration
    private let httpClient: HTTPClient
    private let clock: ClockType
    private let logger: Logger
    private let jitter: @Sendable () -> Double
    private let wallTime: @Sendable () -> Date

    /// - Parameters:
    ///   - clock: measures the deadline and the waits between attempts.
    ///   - jitter: a fraction in 0...1 per retry (random by default; fixed in tests).
    ///   - wallTime: "now" for `Retry-After` given as an HTTP date.
    public init(
        httpClient: HTTPClient,
        configuration: LLMConfiguration,
        clock: ClockType,
        logger: Logger = Logger(label: "llm"),
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        wallTime: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.httpClient = httpClient
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.jitter = jitter
        self.wallTime = wallTime
    }

    /// Asks for the whole answer at once.
    public func complete(_ request: ChatRequest) async throws(LLMError) -> ChatCompletion {
        try await call(request, stream: false) { _ in }
    }

    /// Asks for a streamed answer: `onEvent` hears `.firstToken` as soon as output starts
    /// (show "typing" then), then the text and tool calls as they arrive; the assembled
    /// answer is returned at the end. A server that ignores `stream` and answers in one
    /// piece is accepted (the events are reported from that piece).
    public func stream(
        _ request: ChatRequest,
        onEvent: @escaping @Sendable (ChatStreamEvent) async -> Void
    ) async throws(LLMError) -> ChatCompletion {
        try await call(request, stream: true, onEvent: onEvent)
    }

    // MARK: - The call: deadline around attempts

    private func call(
        _ request: ChatRequest,
        stream: Bool,
        onEvent: @escaping @Sendable (ChatStreamEvent) async -> Void
    ) async throws(LLMError) -> ChatCompletion {
        let deadline = clock.now.advanced(by: configuration.deadline)
        let body = LLMWire.body(for: request, configuration: configuration, stream: stream)
        let attempts = AttemptCounter()
        do {
            return try await withThrowingTaskGroup(of: ChatCompletion.self) { group in
                group.addTask {
                    try await self.attempts(body: body, stream: stream, deadline: deadline, counter: attempts, onEvent: onEvent)
                }
                group.addTask {
                    try await clock.sleep(until: deadline, tolerance: nil)
                    throw LLMError(
                        .timeout,
                        "no complete answer within the \(configuration.deadline) deadline",
                        attempts: attempts.value
                    )
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw CancellationError() }
                return first
            }
        } catch let error as LLMError {
            logger.warning("llm call failed", metadata: ["code": "\(error.code)", "attempts": "\(error.attempts)"])
            throw error
        } catch {
            throw LLMError(.cancelled, "the call was cancelled", attempts: attempts.value)
        }
    }

    private func attempts(
        body: [UInt8],
        stream: Bool,
        deadline: ClockType.Instant,
        counter: AttemptCounter,
        onEvent: @escaping @Sendable (ChatStreamEvent) async -> Void
    ) async throws -> ChatCompletion {
        var attempt = 0
        while true {
            attempt += 1
            counter.value = attempt
            let remaining = clock.now.duration(to: deadline)
            do {
                return try await self.attempt(
                    body: body,
                    stream: stream,
                    timeout: min(configuration.requestTimeout, remaining),
                    number: attempt,
                    onEvent: onEvent
                )
            } catch let failure as AttemptFailure {
                var error = failure.error
                error.attempts = attempt
                guard error.code.isRetryable, !failure.outputStarted, attempt < configuration.retry.maxAttempts else { throw error }
                let wait = configuration.retry.delay(afterAttempt: attempt, retryAfter: failure.retryAfter, jitter: jitter())
                guard clock.now.advanced(by: wait) < deadline else {
                    error.message += "; the next attempt could not start before the deadline"
                    throw error
                }
                logger.info(
                    "llm attempt failed, retrying",
                    metadata: ["code": "\(error.code)", "attempt": "\(attempt)", "wait": "\(wait)"]
                )
                try await clock.sleep(until: clock.now.advanced(by: wait), tolerance: nil)
            }
        }
    }

    // MARK: - One HTTP attempt

    /// Why one attempt failed, with what the retry decision needs.
    private struct AttemptFailure: Error {
        var error: LLMError
        var retryAfter: Duration? = nil
        var outputStarted = false
    }

    private func attempt(
        body: [UInt8],
        stream: Bool,
        timeout: Duration,
        number: Int,
        onEvent: @Sendable (ChatStreamEvent) async -> Void
    ) async throws -> ChatCompletion {
        var request = HTTPClientRequest(url: configuration.chatCompletionsURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: stream ? "text/event-stream" : "application/json")
        if let key = configuration.apiKey {
            request.headers.add(name: "Authorization", value: "Bearer \(key.exposedValue)")
        }
        request.body = .bytes(body)
        logger.debug("llm attempt", metadata: ["model": "\(configuration.model)", "stream": "\(stream)", "attempt": "\(number)"])

        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, deadline: .now() + .nanoseconds(timeout.nanoseconds), logger: logger)
        } catch {
            try Task.checkCancellation()
            throw AttemptFailure(error: Self.transportError(error, during: "the request"))
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let bytes = try? await response.body.collect(upTo: configuration.maxResponseBytes)
            throw statusFailure(status: status, headers: response.headers, body: bytes.map { Array($0.readableBytesView) } ?? [])
        }
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        if stream, contentType.hasPrefix("text/event-stream") {
            return try await readStream(response.body, attempts: number, onEvent: onEvent)
        }
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch is NIOTooManyBytesError {
            throw AttemptFailure(error: LLMError(.badResponse, "the answer is larger than \(configuration.maxResponseBytes) bytes", status: status))
        } catch {
            try Task.checkCancellation()
            throw AttemptFailure(error: Self.transportError(error, during: "the answer"))
        }
        let completion: ChatCompletion
        do {
            completion = try LLMWire.completion(from: Array(bytes.readableBytesView), attempts: number)
        } catch {
            throw AttemptFailure(error: error)
        }
        if stream { await Self.report(completion, to: onEvent) }
        return completion
    }

    private func readStream(
        _ body: HTTPClientResponse.Body,
        attempts: Int,
        onEvent: @Sendable (ChatStreamEvent) async -> Void
    ) async throws -> ChatCompletion {
        var parser = ServerSentEventParser(maxLineBytes: configuration.maxStreamLineBytes, maxEventBytes: configuration.maxResponseBytes)
        var assembler = ChatStreamAssembler()
        var started = false
        do {
            reading: for try await buffer in body {
                for event in try parser.feed(buffer.readableBytesView) {
                    if event.type == "error" {
                        throw LLMError(.serverError, "the provider sent an error event: \(event.data.prefix(300))")
                    }
                    for streamEvent in try assembler.consume(event.data) {
                        if streamEvent == .firstToken { started = true }
                        await onEvent(streamEvent)
                    }
                    if assembler.isDone { break reading }
                }
            }
            return try assembler.completion(attempts: attempts)
        } catch let error as LLMError {
            throw AttemptFailure(error: error, outputStarted: started)
        } catch {
            try Task.checkCancellation()
            throw AttemptFailure(error: Self.transportError(error, during: "the stream"), outputStarted: started)
        }
    }

    /// The failure for a non-2xx answer.
    private func statusFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> AttemptFailure {
        let detail = LLMWire.errorMessage(from: body).map { ": \($0)" } ?? ""
        switch status {
        case 429:
            let retryAfter = RetryAfter.parse(
                retryAfter: headers.first(name: "retry-after"),
                retryAfterMilliseconds: headers.first(name: "retry-after-ms"),
                now: wallTime()
            )
            return AttemptFailure(error: LLMError(.rateLimited, "rate limited\(detail)", status: status), retryAfter: retryAfter)
        case 401, 403:
            return AttemptFailure(error: LLMError(.unauthorized, "the API key was refused\(detail)", status: status))
        case 408:
            return AttemptFailure(error: LLMError(.timeout, "the server timed out the request\(detail)", status: status))
        case 500...599:
            let retryAfter = RetryAfter.parse(retryAfter: headers.first(name: "retry-after"), retryAfterMilliseconds: nil, now: wallTime())
            return AttemptFailure(error: LLMError(.serverError, "server error\(detail)", status: status), retryAfter: retryAfter)
        default:
            return AttemptFailure(error: LLMError(.badRequest, "the request was refused\(detail)", status: status))
        }
    }

    /// A failure without an HTTP status: a timeout of this attempt, or the connection.
    private static func transportError(_ error: any Error, during phase: String) -> LLMError {
        if let error = error as? HTTPClientError,
            [.deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout].contains(error)
        {
            return LLMError(.timeout, "\(phase) timed out")
        }
        return LLMError(.transport, "\(phase) failed: \(String(describing: error).prefix(200))")
    }

    /// Reports a one-piece answer as if it had been streamed.
    private static func report(_ completion: ChatCompletion, to onEvent: @Sendable (ChatStreamEvent) async -> Void) async {
        guard completion.content?.isEmpty == false || !completion.toolCalls.isEmpty else { return }
        await onEvent(.firstToken)
        if let content = completion.content, !content.isEmpty { await onEvent(.contentDelta(content)) }
        for call in completion.toolCalls { await onEvent(.toolCallStarted(id: call.id, name: call.name)) }
    }
}

/// How many attempts a call has started, readable by its deadline task.
private final class AttemptCounter: Sendable {
    private let count = Mutex(0)
    var value: Int {
        get { count.withLock { $0 } }
        set { count.withLock { $0 = newValue } }
    }
}

extension LLMClient where ClockType == ContinuousClock {
    /// A client on the real clock.
    public init(httpClient: HTTPClient, configuration: LLMConfiguration, logger: Logger = Logger(label: "llm")) {
        self.init(httpClient: httpClient, configuration: configuration, clock: ContinuousClock(), logger: logger)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating, for NIO's deadlines.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
