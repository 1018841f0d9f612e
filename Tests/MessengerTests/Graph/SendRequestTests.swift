@_spi(GraphEmulator) import Messenger
import Testing

@Suite struct SendRequestTests {
    @Test func bodyShape() throws {
        let request = SendRequest(
            recipientPSID: "6234567890123456",
            messagingType: .messageTag(.humanAgent),
            content: .text("Hello"),
            quickReplies: [QuickReply(title: "Yes", payload: "Y", imageURL: "https://x/y.png")],
            metadata: "sb_out_1",
            replyToMid: "m_1"
        )
        let body = try #require(JSONValue.parse(request.jsonBody))
        #expect(body["recipient"]?["id"] == .string("6234567890123456"))
        #expect(body["messaging_type"] == .string("MESSAGE_TAG"))
        #expect(body["tag"] == .string("HUMAN_AGENT"))
        #expect(body["message"]?["text"] == .string("Hello"))
        #expect(body["message"]?["metadata"] == .string("sb_out_1"))
        #expect(body["message"]?["quick_replies"]?.array?.first?["content_type"] == .string("text"))
        #expect(body["message"]?["quick_replies"]?.array?.first?["image_url"] == .string("https://x/y.png"))
        #expect(body["reply_to"]?["mid"] == .string("m_1"))

        let attachment = SendRequest(recipientPSID: "1", content: .attachment(type: .video, url: "https://x/v.mp4"))
        let json = try #require(JSONValue.parse(attachment.jsonBody))
        #expect(json["messaging_type"] == .string("RESPONSE"))
        #expect(json["tag"] == nil)
        #expect(json["message"]?["attachment"]?["type"] == .string("video"))
        #expect(json["message"]?["attachment"]?["payload"]?["url"] == .string("https://x/v.mp4"))
        #expect(OutboundAttachmentType.video.isMedia)
        #expect(!OutboundAttachmentType.image.isMedia)
    }

    @Test func problemsFoundBeforeCallingMeta() {
        #expect(SendRequest.text("ok", to: "1").problem == nil)
        #expect(SendRequest.text(String(repeating: "é", count: 2000), to: "1").problem == nil)
        #expect(SendRequest.text(String(repeating: "a", count: 2001), to: "1").problem == .textTooLong)
        #expect(SendRequest.text("", to: "1").problem == .emptyText)
        #expect(SendRequest.text("x", to: "").problem == .missingRecipient)
        #expect(SendRequest.text("x", to: "1", metadata: String(repeating: "m", count: 1000)).problem == .metadataTooLong)
        #expect(SendRequest.text("x", to: "1", metadata: String(repeating: "m", count: 999)).problem == nil)
        var replies = SendRequest.text("pick", to: "1")
        replies.quickReplies = (0..<14).map { QuickReply(title: "\($0)", payload: "\($0)") }
        #expect(replies.problem == .tooManyQuickReplies)
        replies.quickReplies = [QuickReply(title: "", payload: "p")]
        #expect(replies.problem == .emptyQuickReplyTitle)
        #expect(SendRequest.Problem.textTooLong.reason.hasSuffix("."))
    }
}
