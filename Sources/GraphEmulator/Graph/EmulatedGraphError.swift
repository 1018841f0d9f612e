@_spi(GraphEmulator) internal import Messenger

/// A Graph error answer with the real body shape:
/// `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`.
struct EmulatedGraphError: Error, Sendable, Hashable {
    var status: Int
    var code: Int
    var subcode: Int?
    var type: String
    var message: String

    var json: JSONValue {
        var error: [String: JSONValue] = [
            "message": .string(message), "type": .string(type), "code": .int(Int64(code)),
            "fbtrace_id": .string(Self.fbtraceId()),
        ]
        if let subcode { error["error_subcode"] = .int(Int64(subcode)) }
        return .object(["error": .object(error)])
    }

    static func fbtraceId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        return String((0..<23).map { _ in alphabet.randomElement()! })
    }

    // MARK: The ones the emulator produces by itself

    static let invalidToken = EmulatedGraphError(
        status: 400,
        code: 190,
        type: "OAuthException",
        message: "Invalid OAuth access token - Cannot parse access token"
    )
    static let missingToken = EmulatedGraphError(
        status: 400,
        code: 2500,
        type: "OAuthException",
        message: "An active access token must be used to query information about the current user."
    )
    static let textTooLong = EmulatedGraphError(
        status: 400,
        code: 100,
        type: "OAuthException",
        message: "(#100) Length of param message[text] must be less than or equal to 2000"
    )
    static let noMatchingUser = EmulatedGraphError(
        status: 400,
        code: 100,
        subcode: 2_018_001,
        type: "OAuthException",
        message: "(#100) No matching user found"
    )
    static let outsideWindow = EmulatedGraphError(
        status: 400,
        code: 10,
        subcode: 2_018_278,
        type: "OAuthException",
        message:
            "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview"
    )
    static let messageAndSenderAction = EmulatedGraphError(
        status: 400,
        code: 100,
        type: "OAuthException",
        message: "(#100) Param sender_action cannot be sent with message"
    )
    static let emptyMessage = EmulatedGraphError(
        status: 400,
        code: 100,
        subcode: 2_018_034,
        type: "OAuthException",
        message: "(#100) Message cannot be empty, must provide valid attachment or text"
    )
    static let noProfile = EmulatedGraphError(
        status: 400,
        code: 2_018_218,
        type: "OAuthException",
        message: "No profile available for this user."
    )

    static func invalidParameter(_ text: String) -> EmulatedGraphError {
        EmulatedGraphError(status: 400, code: 100, type: "OAuthException", message: "(#100) \(text)")
    }

    static func unsupported(_ method: String, id: String) -> EmulatedGraphError {
        EmulatedGraphError(
            status: 400,
            code: 100,
            subcode: 33,
            type: "GraphMethodException",
            message:
                "Unsupported \(method) request. Object with ID '\(id)' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        )
    }

    static func throttled(code: Int) -> EmulatedGraphError {
        code == 32
            ? EmulatedGraphError(status: 400, code: 32, type: "OAuthException", message: "(#32) Page request limit reached")
            : EmulatedGraphError(
                status: 400,
                code: 613,
                type: "OAuthException",
                message: "(#613) Calls to this api have exceeded the rate limit."
            )
    }

    /// An injected fault: the usual status and text for the code.
    static func injected(code: Int, subcode: Int?, status: Int?, message: String?) -> EmulatedGraphError {
        let defaults: (Int, String, String) =
            switch (code, subcode) {
            case (1200, _): (500, "OAuthException", "(#1200) Temporary send message failure. Please try again later")
            case (2, _): (500, "OAuthException", "An unexpected error has occurred. Please retry your request later.")
            case (1, _): (500, "OAuthException", "An unknown error occurred")
            case (4, _): (400, "OAuthException", "(#4) Application request limit reached")
            case (17, _): (400, "OAuthException", "(#17) User request limit reached")
            case (32, _): (400, "OAuthException", "(#32) Page request limit reached")
            case (613, _): (400, "OAuthException", "(#613) Calls to this api have exceeded the rate limit.")
            case (10, 2_018_278?): (400, "OAuthException", outsideWindow.message)
            case (10, _): (400, "OAuthException", "(#10) Application does not have permission for this action")
            case (100, 2_018_001?): (400, "OAuthException", noMatchingUser.message)
            case (100, _): (400, "OAuthException", "(#100) Invalid parameter")
            case (190, _):
                (
                    400, "OAuthException",
                    "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons."
                )
            case (200, _): (400, "OAuthException", "(#200) The user hasn't authorized the application to perform this action")
            case (551, _): (400, "OAuthException", "(#551) This person isn't available right now.")
            default: (400, "OAuthException", "(#\(code)) Emulated error")
            }
        return EmulatedGraphError(
            status: status ?? defaults.0,
            code: code,
            subcode: subcode,
            type: defaults.1,
            message: message ?? defaults.2
        )
    }
}
