import EngineIO
import Testing

@Suite struct RouteTests {
    let both: Set<EngineIOTransport> = [.polling, .websocket]

    func code(_ method: EngineIOHTTPMethod, _ query: String) -> Int? {
        do {
            _ = try EngineIORoute.resolve(method: method, query: EngineIORequest.parseQuery(Substring(query)), transports: both)
            return nil
        } catch {
            return error.protocolCode
        }
    }

    @Test func handshakeAndSessionRoutes() throws {
        #expect(try EngineIORoute.resolve(method: .get, query: ["EIO": "4", "transport": "polling"], transports: both) == .handshake(.polling))
        #expect(
            try EngineIORoute.resolve(method: .post, query: ["EIO": "4", "transport": "polling", "sid": "x"], transports: both)
                == .session(sid: "x", transport: .polling)
        )
    }

    @Test func everyProtocolErrorCode() {
        #expect(code(.get, "EIO=4") == 0)
        #expect(code(.get, "EIO=4&transport=abc") == 0)
        #expect(code(.get, "EIO=4&transport=websocket") == nil)
        #expect(code(.post, "EIO=4&transport=polling") == 2)
        #expect(code(.other, "EIO=4&transport=polling") == 2)
        #expect(code(.other, "EIO=4&transport=polling&sid=a") == 3)
        #expect(code(.get, "transport=polling") == 5)
        #expect(code(.get, "EIO=abc&transport=polling") == 5)
        #expect(code(.get, "EIO=3&transport=polling") == 5)
    }

    @Test func errorBodiesMatchTheProtocol() {
        let expected: [(EngineIOError.Code, Int, String)] = [
            (.unknownTransport, 0, "Transport unknown"), (.unknownSession, 1, "Session ID unknown"),
            (.badHandshakeMethod, 2, "Bad handshake method"), (.badRequest, 3, "Bad request"), (.forbidden, 4, "Forbidden"),
            (.unsupportedProtocolVersion, 5, "Unsupported protocol version"),
        ]
        for (code, number, message) in expected {
            let error = EngineIOError(code)
            #expect(error.protocolBody == "{\"code\":\(number),\"message\":\"\(message)\"}")
            #expect(EngineIOHTTPResponse.error(error).status == (number == 4 ? 403 : 400))
        }
        #expect(EngineIOError(.payloadTooLarge).code.description == "engineio.payload_too_large")
    }

    @Test func queryParsing() {
        #expect(EngineIORequest.parseQuery("a=1&b=x%20y+z&c&=&d=%zz") == ["a": "1", "b": "x y z", "c": "", "": "", "d": "%zz"])
    }
}
