import Messenger
import Testing

@Suite struct GraphErrorClassifierTests {
    typealias Action = GraphFailureClass.Action

    struct Row: Sendable, CustomStringConvertible {
        var code: Int
        var subcode: Int?
        var status: Int = 400
        var action: Action
        var stableCode: String
        var description: String { "\(code)/\(subcode.map(String.init) ?? "-") → \(action)" }
    }

    /// messenger-platform.md §7, row by row.
    static let table: [Row] = [
        Row(code: 1200, action: .retry, stableCode: "graph.temporary"),
        Row(code: 2, status: 500, action: .retry, stableCode: "graph.temporary"),
        Row(code: 1, action: .fail, stableCode: "graph.permission"),
        Row(code: 99, action: .fail, stableCode: "graph.permission"),
        Row(code: 4, action: .retry, stableCode: "graph.app_rate_limited"),
        Row(code: 4, subcode: 2_018_022, action: .retry, stableCode: "graph.app_rate_limited"),
        Row(code: 17, action: .retry, stableCode: "graph.user_rate_limited"),
        Row(code: 32, action: .pausePage, stableCode: "graph.page_throttled"),
        Row(code: 613, action: .pausePage, stableCode: "graph.page_throttled"),
        Row(code: 4, subcode: 2_018_354, action: .fail, stableCode: "graph.marketing_limit"),
        Row(code: 9, subcode: 2_018_352, action: .fail, stableCode: "graph.marketing_limit"),
        Row(code: 10, subcode: 2_018_278, action: .windowClosed, stableCode: "graph.window_closed"),
        Row(code: 10, subcode: 2_018_065, action: .windowClosed, stableCode: "graph.window_closed"),
        Row(code: 10, subcode: 2_018_108, action: .recipientUnreachable, stableCode: "graph.recipient_unreachable"),
        Row(code: 10, subcode: 1_893_063, action: .fail, stableCode: "graph.page_restricted"),
        Row(code: 10, action: .fail, stableCode: "graph.permission"),
        Row(code: 100, action: .fail, stableCode: "graph.invalid_parameter"),
        Row(code: 100, subcode: 2_018_001, action: .recipientUnreachable, stableCode: "graph.no_matching_user"),
        Row(code: 100, subcode: 2_018_109, action: .fail, stableCode: "graph.attachment_too_large"),
        Row(code: 100, subcode: 2_018_034, action: .fail, stableCode: "graph.empty_message"),
        Row(code: 190, status: 401, action: .reauthorize, stableCode: "graph.reauthorization_required"),
        Row(code: 190, subcode: 460, action: .reauthorize, stableCode: "graph.reauthorization_required"),
        Row(code: 200, subcode: 2_018_028, action: .fail, stableCode: "graph.app_not_approved"),
        Row(code: 200, subcode: 2_018_027, action: .fail, stableCode: "graph.app_not_approved"),
        Row(code: 200, subcode: 1_545_041, action: .recipientUnreachable, stableCode: "graph.recipient_unreachable"),
        Row(code: 551, subcode: 1_545_041, action: .recipientUnreachable, stableCode: "graph.recipient_unreachable"),
        Row(code: 551, action: .recipientUnreachable, stableCode: "graph.recipient_unreachable"),
        Row(code: 230, action: .fail, stableCode: "graph.permission"),
        Row(code: 210, action: .fail, stableCode: "graph.permission"),
        Row(code: 2, subcode: 2_018_344, action: .fail, stableCode: "graph.custom_labels_tos"),
        Row(code: 12345, action: .fail, stableCode: "graph.error_12345"),
    ]

    @Test(arguments: table)
    func classifiesByCodeAndSubcode(_ row: Row) {
        let body = GraphErrorBody(message: "irrelevant text", type: "OAuthException", code: row.code, subcode: row.subcode)
        let result = GraphErrorClassifier.classify(GraphError(.http(status: row.status, body: body)))
        #expect(result.action == row.action)
        #expect(result.code == row.stableCode)
        #expect(result.reason.hasSuffix("."))
        #expect(!result.reason.contains("irrelevant"))
        #expect(result.isRetryable == (row.action == .retry || row.action == .pausePage))
    }

    /// The message text never changes the outcome (Chatwoot's 190 bug).
    @Test func messageTextIsIgnored() {
        let plain = GraphErrorBody(message: "x", code: 190)
        let wordy = GraphErrorBody(message: "Error validating access token: The session has been invalidated", code: 190)
        #expect(
            GraphErrorClassifier.classify(GraphError(.http(status: 400, body: plain)))
                == GraphErrorClassifier.classify(GraphError(.http(status: 400, body: wordy)))
        )
    }

    @Test func windowClosedReadsLikeASentence() {
        let result = GraphErrorClassifier.classify(
            GraphError(.http(status: 400, body: GraphErrorBody(code: 10, subcode: 2_018_278)))
        )
        #expect(result.reason == "The customer hasn't written in the last 24 hours, so Messenger refuses this message.")
    }

    @Test func throttlingPausesForTheUsageHeaderTime() throws {
        let usage = try #require(
            BusinessUseCaseUsage(
                header: #"{"106":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":7}]}"#
            )
        )
        for code in [32, 613, 4] {
            let result = GraphErrorClassifier.classify(
                GraphError(.http(status: 400, body: GraphErrorBody(code: code)), usage: usage)
            )
            #expect(result.action == .pausePage)
            #expect(result.pauseFor == .seconds(7 * 60))
        }
        let bare = GraphErrorClassifier.classify(GraphError(.http(status: 400, body: GraphErrorBody(code: 613))))
        #expect(bare.pauseFor == GraphErrorClassifier.defaultPagePause)
    }

    @Test func transportFailures() {
        let cases: [(TransportFailure, Bool)] = [
            (.connectFailed("refused"), false), (.timedOutBeforeSending, false), (.failedBeforeSending("x"), false),
            (.timedOutAfterSending, true), (.connectionClosedAfterSending("reset"), true),
        ]
        for (failure, ambiguous) in cases {
            let error = GraphError(.transport(failure))
            let result = GraphErrorClassifier.classify(error)
            #expect(result.action == .retry)
            #expect(error.isAmbiguous == ambiguous)
            #expect(result.isAmbiguous == ambiguous)
        }
    }

    @Test func httpStatusesWithoutBody() {
        for status in [500, 502, 503, 504] {
            let result = GraphErrorClassifier.classify(GraphError(.http(status: status, body: nil)))
            #expect(result.action == .retry)
            #expect(result.isAmbiguous)
        }
        #expect(GraphErrorClassifier.classify(GraphError(.http(status: 429, body: nil))).action == .retry)
        #expect(GraphErrorClassifier.classify(GraphError(.http(status: 404, body: nil))).action == .fail)
        // A definitive Graph error on a 500 is not ambiguous: 1200 means "not sent".
        let temporary = GraphError(.http(status: 500, body: GraphErrorBody(code: 1200)))
        #expect(!temporary.isAmbiguous)
        #expect(GraphError(.http(status: 500, body: GraphErrorBody(code: 2))).isAmbiguous)
        #expect(GraphError(.invalidResponse(status: 200, reason: "x")).isAmbiguous)
    }

    @Test func parsesTheGraphErrorBody() throws {
        let bytes = Array(
            #"{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"AbCdEf123"}}"#
                .utf8
        )
        let body = try #require(GraphErrorBody.parse(bytes))
        #expect(body.code == 10)
        #expect(body.subcode == 2_018_278)
        #expect(body.type == "OAuthException")
        #expect(body.fbtraceId == "AbCdEf123")
        #expect(GraphErrorBody.parse(Array("<html>".utf8)) == nil)
        #expect(GraphErrorBody.parse(Array(#"{"error":{}}"#.utf8)) == nil)
    }
}
