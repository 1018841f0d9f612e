import AsyncHTTPClient
import LLM
import LLMEmulator
import TestSupport
import Testing

@Suite struct LLMClientTests {
    let question = ChatRequest(messages: [.system("You are the shop's assistant."), .user("Do you ship to Austria?")])
    let handoverTool = ToolDefinition(
        name: "handover",
        description: "Hand the conversation to a human agent.",
        parameters: ["type": "object", "properties": ["reason": ["type": "string"]]]
    )

    @Test func aCompletionAndThePromptAsSent() async throws {
        try await Harness.run { harness in
            harness.emulator.enqueue(.text("Yes, in 3 to 5 days."))
            let completion = try await harness.client.complete(ChatRequest(messages: question.messages, tools: [handoverTool]))
            #expect(completion.content == "Yes, in 3 to 5 days.")
            #expect(completion.finishReason == .stop)
            #expect(completion.attempts == 1)
            #expect((completion.usage?.completionTokens ?? 0) > 0)

            let sent = try #require(harness.emulator.requests.first)
            #expect(sent.model == "test-model")
            #expect(sent.temperature == 0.2)
            #expect(sent.maxTokens == 300)
            #expect(!sent.stream)
            #expect(sent.toolNames == ["handover"])
            #expect(sent.messages.map(\.role) == ["system", "user"])
            #expect(sent.messages.map(\.content) == ["You are the shop's assistant.", "Do you ship to Austria?"])
            #expect(sent.authorization == "Bearer \(Harness.key.exposedValue)")
        }
    }

    @Test func aStreamReportsTheFirstTokenFirstAndAssemblesTheText() async throws {
        try await Harness.run { harness in
            harness.emulator.enqueue(.text("We ship to Austria in three days."))
            let events = EventLog()
            let completion = try await harness.client.stream(question) { await events.append($0) }
            let seen = await events.all
            #expect(seen.first == .firstToken)
            #expect(seen.filter { $0 == .firstToken }.count == 1)
            let text = seen.compactMap { if case .contentDelta(let piece) = $0 { piece } else { nil } }.joined()
            #expect(text == "We ship to Austria in three days.")
            #expect(completion.content == text)
            #expect(completion.usage != nil)
            let sent = try #require(harness.emulator.requests.first)
            #expect(sent.stream && sent.includeUsage)
        }
    }

    @Test func aStreamedToolCallIsAssembled() async throws {
        try await Harness.run { harness in
            let events = EventLog()
            let request = ChatRequest(messages: [.user("I want to talk to a human please")], tools: [handoverTool])
            let completion = try await harness.client.stream(request) { await events.append($0) }
            let call = try #require(completion.toolCall(named: "handover"))
            #expect(call.decodedArguments?["reason"] == "customer asked for a human")
            #expect(completion.finishReason == .toolCalls)
            #expect(await events.all == [.firstToken, .toolCallStarted(id: call.id, name: "handover")])
        }
    }

    @Test func rateLimitedThenSuccessWaitsAtLeastRetryAfter() async throws {
        try await Harness.run { harness in
            harness.emulator.inject(LLMFault(.status(429, retryAfter: "2")))
            async let result = harness.client.complete(question)
            let wait = await harness.passNextRetryWait()
            #expect(wait == .seconds(2))
            let completion = try await result
            #expect(completion.attempts == 2)
            #expect(harness.emulator.requests.count == 2)
        }
    }

    @Test func serverErrorsAreRetriedThenReported() async throws {
        try await Harness.run { harness in
            harness.emulator.inject(LLMFault(.status(503), count: 5))
            async let result = failure { try await harness.client.stream(question) { _ in } }
            let first = await harness.passNextRetryWait()
            let second = await harness.passNextRetryWait()
            #expect(first == .milliseconds(400))
            #expect(second == .milliseconds(800))
            let error = try #require(await result)
            #expect(error.code == .serverError)
            #expect(error.status == 503)
            #expect(error.attempts == 3)
            #expect(harness.emulator.requests.count == 3)
        }
    }

    @Test func aRetryAfterBeyondTheDeadlineFailsAtOnce() async throws {
        try await Harness.run { harness in
            harness.emulator.inject(LLMFault(.status(429, retryAfter: "120")))
            let error = try #require(await failure { try await harness.client.complete(question) })
            #expect(error.code == .rateLimited)
            #expect(error.attempts == 1)
            #expect(harness.emulator.requests.count == 1)
        }
    }

    @Test func aHangingServerEndsAtTheDeadline() async throws {
        try await Harness.run { harness in
            harness.emulator.inject(LLMFault(.hang))
            let emulatorEvents = harness.emulator.events()
            async let result = failure { try await harness.client.complete(question) }
            for await event in emulatorEvents where event == .holding(number: 1) { break }
            harness.clock.advance(by: harness.deadline)
            let error = try #require(await result)
            #expect(error.code == .timeout)
            #expect(error.attempts == 1)
        }
    }

    @Test func aStreamThatStallsAfterItsFirstTokenEndsAtTheDeadline() async throws {
        try await Harness.run { harness in
            harness.emulator.inject(LLMFault(.hangAfterFirstChunk))
            let (firstToken, signal) = AsyncStream<Void>.makeStream()
            async let result = failure {
                try await harness.client.stream(question) { event in
                    if event == .firstToken { signal.yield() }
                }
            }
            for await _ in firstToken { break }
            harness.clock.advance(by: harness.deadline)
            let error = try #require(await result)
            #expect(error.code == .timeout)
            #expect(harness.emulator.requests.count == 1)
        }
    }

    @Test(arguments: [LLMFault.Effect.malformedStream, .truncatedStream, .oversizedLine(bytes: 300_000)])
    func aBrokenStreamIsABadResponseAndNotRetried(_ effect: LLMFault.Effect) async throws {
        try await Harness.run(configure: { $0.maxStreamLineBytes = 64 << 10 }) { harness in
            harness.emulator.inject(LLMFault(effect))
            let error = try #require(await failure { try await harness.client.stream(question) { _ in } })
            #expect(error.code == .badResponse)
            #expect(harness.emulator.requests.count == 1)
        }
    }

    @Test func aTruncatedBodyIsABadResponse() async throws {
        try await Harness.run { harness in
            harness.emulator.inject(LLMFault(.truncatedStream))
            let error = try #require(await failure { try await harness.client.complete(question) })
            #expect(error.code == .badResponse)
        }
    }

    @Test func aRefusedKeyIsNotRetriedAndNeverLogged() async throws {
        let logs = LogCapture()
        try await Harness.run(emulator: LLMEmulatorConfiguration(apiKey: "sk-the-right-one"), logger: logs.logger()) { harness in
            let error = try #require(await failure { try await harness.client.complete(question) })
            #expect(error.code == .unauthorized)
            #expect(error.status == 401)
            #expect(error.attempts == 1)
            #expect(!error.description.contains(Harness.key.exposedValue))
        }
        #expect(!logs.all.isEmpty)
        #expect(!logs.all.contains { $0.contains(Harness.key.exposedValue) })
    }

    @Test func otherClientErrorsAreBadRequests() async throws {
        try await Harness.run { harness in
            harness.emulator.inject(LLMFault(.status(400)))
            let error = try #require(await failure { try await harness.client.complete(question) })
            #expect(error.code == .badRequest)
            #expect(error.attempts == 1)
        }
    }

    @Test func noServerIsATransportFailure() async throws {
        // AsyncHTTPClient keeps reconnecting until the attempt's timeout: keep it short.
        let configuration = LLMConfiguration(
            baseURL: "http://127.0.0.1:1/v1",
            model: "m",
            requestTimeout: .seconds(1),
            retry: LLMRetryPolicy(maxAttempts: 1)
        )
        let client = LLMClient(httpClient: .shared, configuration: configuration, clock: ManualClock(), logger: quietLogger())
        let error = try #require(await failure { try await client.complete(question) })
        #expect(error.code == .transport)
    }

    @Test func cancellingTheCallerCancelsTheCall() async throws {
        try await Harness.run { harness in
            harness.emulator.inject(LLMFault(.hang))
            let emulatorEvents = harness.emulator.events()
            let task = Task { await failure { try await harness.client.complete(question) } }
            for await event in emulatorEvents where event == .holding(number: 1) { break }
            task.cancel()
            #expect(await task.value?.code == .cancelled)
        }
    }
}

/// Collects stream events across the callback's concurrency domain.
actor EventLog {
    private(set) var all: [ChatStreamEvent] = []
    func append(_ event: ChatStreamEvent) { all.append(event) }
}
