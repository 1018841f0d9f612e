import Foundation
import LLM
import Testing

@Suite struct RetryTests {
    @Test func backoffDoublesUpToTheCapWithJitterInTheUpperHalf() {
        let policy = LLMRetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(400), maxDelay: .seconds(1))
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, jitter: 0) == .milliseconds(200))
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, jitter: 1) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 2, retryAfter: nil, jitter: 1) == .milliseconds(800))
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, jitter: 1) == .seconds(1))
        #expect(policy.delay(afterAttempt: 40, retryAfter: nil, jitter: 0.5) == .milliseconds(750))
    }

    @Test func retryAfterIsAFloor() {
        let policy = LLMRetryPolicy(baseDelay: .milliseconds(400), maxDelay: .seconds(1))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3), jitter: 0) == .seconds(3))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .milliseconds(10), jitter: 1) == .milliseconds(400))
    }

    @Test func retryAfterForms() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        #expect(RetryAfter.parse(retryAfter: "2", retryAfterMilliseconds: nil, now: now) == .seconds(2))
        #expect(RetryAfter.parse(retryAfter: "0.5", retryAfterMilliseconds: nil, now: now) == .milliseconds(500))
        #expect(RetryAfter.parse(retryAfter: "2", retryAfterMilliseconds: "120", now: now) == .milliseconds(120))
        #expect(RetryAfter.parse(retryAfter: "Tue, 14 Nov 2023 22:13:30 GMT", retryAfterMilliseconds: nil, now: now) == .seconds(10))
        #expect(RetryAfter.parse(retryAfter: "Tue, 14 Nov 2023 22:13:00 GMT", retryAfterMilliseconds: nil, now: now) == nil)
        #expect(RetryAfter.parse(retryAfter: "soon", retryAfterMilliseconds: nil, now: now) == nil)
        #expect(RetryAfter.parse(retryAfter: "-1", retryAfterMilliseconds: nil, now: now) == nil)
        #expect(RetryAfter.parse(retryAfter: nil, retryAfterMilliseconds: nil, now: now) == nil)
    }

    @Test func theKeyIsRedacted() {
        let key = LLMAPIKey("sk-secret-123")
        let configuration = LLMConfiguration(baseURL: "http://x/v1", apiKey: key, model: "m")
        #expect(!"\(key)".contains("sk-secret"))
        #expect(!String(reflecting: key).contains("sk-secret"))
        #expect(!"\(configuration)".contains("sk-secret"))
        #expect(!String(reflecting: configuration).contains("sk-secret"))
    }
}
