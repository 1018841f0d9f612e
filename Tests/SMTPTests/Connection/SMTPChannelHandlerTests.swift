import Logging
import NIOCore
import NIOEmbedded
import NIOTLS
import Testing

@testable import SMTP

/// The handler on an `EmbeddedChannel`: real bytes in and out, a virtual clock, no socket.
@Suite struct SMTPChannelHandlerTests {
    /// Stands in for NIOSSL's client handler; records that it was inserted.
    final class FakeTLSHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
    }

    struct Harness {
        let channel: EmbeddedChannel
        let promise: EventLoopPromise<SMTPSendResult>

        init(
            tls: SMTPStateMachine.TLSPolicy = .none,
            credentials: SMTPConfiguration.Credentials? = nil,
            content: String = "Subject: hi\r\n\r\n.dot\r\n",
            timeouts: SMTPConfiguration.Timeouts = .init()
        ) throws {
            channel = EmbeddedChannel()
            promise = channel.eventLoop.makePromise(of: SMTPSendResult.self)
            let machine = SMTPStateMachine(
                settings: .init(
                    localHostname: "client.test",
                    tls: tls,
                    credentials: credentials,
                    allowPlaintextAuthentication: false,
                    authenticationMechanisms: [.plain, .login]
                ),
                envelope: .init(sender: "from@sb.test", recipients: ["to@sb.test"], messageID: "<m@sb.test>")
            )
            let handler = SMTPChannelHandler(
                machine: machine,
                content: SMTPDataEncoder.encode(Array(content.utf8)),
                timeouts: .init(timeouts),
                promise: promise,
                logger: Logger(label: "test"),
                makeTLSHandler: { FakeTLSHandler() }
            )
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 25)).wait()
        }

        func server(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        func sent() throws -> String? {
            try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }
        }

        func result() async throws -> SMTPSendResult {
            try await promise.futureResult.get()
        }
    }

    @Test func fullPlainSessionOverTheWire() async throws {
        let h = try Harness()
        try h.server("220 mx.test ESMTP\r\n")
        #expect(try h.sent() == "EHLO client.test\r\n")
        try h.server("250-mx.test\r\n250 8BITMIME\r\n")
        #expect(try h.sent() == "MAIL FROM:<from@sb.test>\r\n")
        try h.server("250 2.1.0 ok\r\n")
        #expect(try h.sent() == "RCPT TO:<to@sb.test>\r\n")
        try h.server("250 2.1.5 ok\r\n")
        #expect(try h.sent() == "DATA\r\n")
        try h.server("354 go\r\n")
        #expect(try h.sent() == "Subject: hi\r\n\r\n..dot\r\n.\r\n")
        try h.server("250 2.0.0 queued\r\n")
        #expect(try h.sent() == "QUIT\r\n")
        try h.server("221 2.0.0 bye\r\n")
        #expect(!h.channel.isActive)
        let result = try await h.result()
        #expect(result.acceptedRecipients == ["to@sb.test"])
        #expect(result.reply.enhancedStatus?.description == "2.0.0")
    }

    @Test func repliesSplitAcrossReadsAndCoalescedInOne() async throws {
        let h = try Harness()
        try h.server("22")
        #expect(try h.sent() == nil)
        try h.server("0 hi\r\n250-mx")
        #expect(try h.sent() == "EHLO client.test\r\n")
        try h.server(".test\r\n250 OK\r\n")
        #expect(try h.sent() == "MAIL FROM:<from@sb.test>\r\n")
    }

    @Test func startTLSInsertsTLSFirstAndSaysEHLOAgain() async throws {
        let h = try Harness(tls: .startTLS)
        try h.server("220 hi\r\n")
        _ = try h.sent()
        try h.server("250-mx\r\n250 STARTTLS\r\n")
        #expect(try h.sent() == "STARTTLS\r\n")
        try h.server("220 2.0.0 go ahead\r\n")
        #expect(try h.sent() == nil)
        let first = try await h.channel.pipeline.handler(type: FakeTLSHandler.self).get()
        #expect(try h.channel.pipeline.syncOperations.context(handlerType: FakeTLSHandler.self).handler === first)
        h.channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        #expect(try h.sent() == "EHLO client.test\r\n")
    }

    @Test func bytesPipelinedAfterTheSTARTTLSReplyAreRejected() async throws {
        let h = try Harness(tls: .startTLS)
        try h.server("220 hi\r\n")
        _ = try h.sent()
        try h.server("250-mx\r\n250 STARTTLS\r\n")
        _ = try h.sent()
        try h.server("220 go ahead\r\n250-injected\r\n")
        #expect(!h.channel.isActive)
        let error = await #expect(throws: SMTPError.self) { try await h.result() }
        #expect(error?.code == .protocolViolation)
    }

    @Test func stepTimeoutClosesTheChannelWithATypedError() async throws {
        let h = try Harness(timeouts: .init(greeting: .seconds(5), command: .seconds(7)))
        try h.server("220 hi\r\n")
        _ = try h.sent()
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        #expect(h.channel.isActive, "the EHLO step has its own 7 s")
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!h.channel.isActive)
        let error = await #expect(throws: SMTPError.self) { try await h.result() }
        #expect(error?.code == .timeout)
        #expect(error?.step == .ehlo)
    }

    @Test func greetingTimeout() async throws {
        let h = try Harness(timeouts: .init(greeting: .seconds(5)))
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        let error = await #expect(throws: SMTPError.self) { try await h.result() }
        #expect(error?.code == .timeout)
        #expect(error?.step == .greeting)
    }

    @Test func serverHangsUp() async throws {
        let h = try Harness()
        try h.server("220 hi\r\n")
        _ = try h.sent()
        h.channel.pipeline.fireChannelInactive()
        let error = await #expect(throws: SMTPError.self) { try await h.result() }
        #expect(error?.code == .connectionClosed)
        #expect(error?.step == .ehlo)
        _ = try? h.channel.finish()
    }

    @Test func garbageFromTheServerIsAProtocolViolation() async throws {
        let h = try Harness()
        try h.server("HTTP/1.1 400 Bad Request\r\n")
        let error = await #expect(throws: SMTPError.self) { try await h.result() }
        #expect(error?.code == .protocolViolation)
        #expect(error?.step == .greeting)
    }

    @Test func authRejectedQuitsPolitely() async throws {
        let credentials = SMTPConfiguration.Credentials(username: "u", password: SMTPSecret("p"))
        let h = try Harness(tls: .implicit, credentials: credentials)
        try h.server("220 hi\r\n")
        _ = try h.sent()
        try h.server("250-mx\r\n250 AUTH PLAIN\r\n")
        #expect(try h.sent() == "AUTH PLAIN AHUAcA==\r\n")
        try h.server("535 5.7.8 Authentication credentials invalid\r\n")
        #expect(try h.sent() == "QUIT\r\n")
        try h.server("221 bye\r\n")
        let error = await #expect(throws: SMTPError.self) { try await h.result() }
        #expect(error?.code == .authenticationRejected)
        #expect(error?.enhancedStatus?.description == "5.7.8")
        #expect(error.map { !"\($0)".contains("AHUAcA==") } ?? false)
    }
}
