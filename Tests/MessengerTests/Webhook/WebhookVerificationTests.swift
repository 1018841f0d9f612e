import Messenger
import Testing

@Suite struct WebhookVerificationTests {
    @Test func answersTheChallengeOnlyForTheRightToken() {
        #expect(
            WebhookVerification.challengeResponse(
                mode: "subscribe",
                verifyToken: "s3cret",
                challenge: "1158201444",
                expectedToken: "s3cret"
            ) == "1158201444"
        )
        #expect(
            WebhookVerification.challengeResponse(mode: "subscribe", verifyToken: "wrong", challenge: "1", expectedToken: "s3cret")
                == nil
        )
        #expect(
            WebhookVerification.challengeResponse(mode: "subscribe", verifyToken: "s3cre", challenge: "1", expectedToken: "s3cret")
                == nil
        )
        #expect(
            WebhookVerification.challengeResponse(mode: "unsubscribe", verifyToken: "s3cret", challenge: "1", expectedToken: "s3cret")
                == nil
        )
        #expect(
            WebhookVerification.challengeResponse(mode: "subscribe", verifyToken: nil, challenge: "1", expectedToken: "s3cret") == nil
        )
        #expect(
            WebhookVerification.challengeResponse(mode: "subscribe", verifyToken: "s3cret", challenge: nil, expectedToken: "s3cret")
                == nil
        )
    }
}
