public import AsyncHTTPClient
internal import Foundation
public import Logging
internal import NIOCore
internal import NIOHTTP1

/// The Graph API calls Switchboard makes with a Page token: Send API, sender actions,
/// profiles, `me`, `subscribed_apps`.
///
/// The token travels only in `Authorization: Bearer` (never in a URL, never logged,
/// invariant 8). Failures are `GraphError`s that say whether the request may have been
/// accepted (`isAmbiguous`), for `GraphErrorClassifier` and the sender.
public struct GraphClient: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// `https://graph.facebook.com`, or the emulator's address.
        public var baseURL: String
        /// `v25.0` by default (v25 is supported until 2028-07-29).
        public var apiVersion: String
        /// Per-call deadline.
        public var timeout: Duration

        public init(baseURL: String = "https://graph.facebook.com", apiVersion: String = "v25.0", timeout: Duration = .seconds(20)) {
            self.baseURL = baseURL
            self.apiVersion = apiVersion
            self.timeout = timeout
        }
    }

    public let configuration: Configuration
    private let httpClient: HTTPClient
    private let logger: Logger

    public init(httpClient: HTTPClient, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "messenger.graph")) {
        self.httpClient = httpClient
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: - Calls

    /// Sends a message (`POST /{page}/messages`). The `messageId` is the `mid` later seen
    /// in the echo and delivery.
    public func send(pageId: String, token: PageAccessToken, request: SendRequest) async throws(GraphError) -> SendResult {
        let response = try await call(.POST, path: "\(pageId)/messages", token: token, body: request.jsonBody)
        let json = JSONValue.parse(response.body)
        guard let messageId = json?["message_id"]?.id else {
            throw GraphError(
                .invalidResponse(status: response.status, reason: "no message_id"),
                usage: usage(response),
                requestWrittenAt: response.requestWrittenAt
            )
        }
        return SendResult(
            recipientId: json?["recipient_id"]?.id,
            messageId: messageId,
            usage: usage(response),
            requestWrittenAt: response.requestWrittenAt
        )
    }

    /// Sends `typing_on`, `typing_off` or `mark_seen`, alone as Graph requires.
    @discardableResult
    public func senderAction(
        pageId: String,
        token: PageAccessToken,
        psid: String,
        action: SenderAction
    ) async throws(GraphError)
        -> BusinessUseCaseUsage?
    {
        let body: JSONValue = .object([
            "recipient": .object(["id": .string(psid)]), "sender_action": .string(action.rawValue),
        ])
        let response = try await call(.POST, path: "\(pageId)/messages", token: token, body: Array(body.jsonText.utf8))
        return usage(response)
    }

    /// The customer's name and picture. An empty object or error 2018218 ("no profile
    /// available") give an empty profile: profiles must never block ingestion.
    public func userProfile(psid: String, token: PageAccessToken) async throws(GraphError) -> UserProfile {
        do {
            let response = try await call(
                .GET,
                path: psid,
                query: [("fields", "first_name,last_name,profile_pic")],
                token: token,
                body: nil
            )
            let json = JSONValue.parse(response.body)
            return UserProfile(
                firstName: json?["first_name"]?.string,
                lastName: json?["last_name"]?.string,
                profilePicURL: json?["profile_pic"]?.string
            )
        } catch  where error.body?.subcode == 2_018_218 || error.body?.code == 2_018_218 {
            return UserProfile()
        }
    }

    /// The Page the token belongs to (`GET /me`).
    public func me(token: PageAccessToken) async throws(GraphError) -> PageIdentity {
        let response = try await call(.GET, path: "me", query: [("fields", "id,name")], token: token, body: nil)
        let json = JSONValue.parse(response.body)
        guard let id = json?["id"]?.id else {
            throw GraphError(.invalidResponse(status: response.status, reason: "no id"))
        }
        return PageIdentity(id: id, name: json?["name"]?.string)
    }

    /// Subscribes our app to the Page's webhooks (`POST /{page}/subscribed_apps`).
    public func subscribeApp(
        pageId: String,
        token: PageAccessToken,
        fields: [String] = GraphClient.defaultSubscribedFields
    ) async throws(GraphError) {
        let response = try await call(
            .POST,
            path: "\(pageId)/subscribed_apps",
            query: [("subscribed_fields", fields.joined(separator: ","))],
            token: token,
            body: nil
        )
        guard JSONValue.parse(response.body)?["success"]?.bool == true else {
            throw GraphError(.invalidResponse(status: response.status, reason: "no success"))
        }
    }

    /// The apps subscribed to the Page and their fields (`GET /{page}/subscribed_apps`).
    public func subscribedApps(pageId: String, token: PageAccessToken) async throws(GraphError) -> [SubscribedApp] {
        let response = try await call(.GET, path: "\(pageId)/subscribed_apps", token: token, body: nil)
        return (JSONValue.parse(response.body)?["data"]?.array ?? []).compactMap { item in
            guard let id = item["id"]?.id else { return nil }
            return SubscribedApp(
                id: id,
                name: item["name"]?.string,
                subscribedFields: item["subscribed_fields"]?.array?.compactMap(\.string) ?? []
            )
        }
    }

    /// The fields Switchboard needs (messenger-platform.md §11).
    public static let defaultSubscribedFields = [
        "messages", "messaging_postbacks", "message_deliveries", "message_reads", "message_echoes",
        "message_reactions", "messaging_handovers", "standby", "message_edits",
    ]

    // MARK: - Transport

    func url(_ path: String, query: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
        let base = configuration.baseURL.hasSuffix("/") ? String(configuration.baseURL.dropLast()) : configuration.baseURL
        let segments = path.split(separator: "/").map { encode(String($0)) }.joined(separator: "/")
        var url = "\(base)/\(configuration.apiVersion)/\(segments)"
        if !query.isEmpty {
            url += "?" + query.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        }
        return url
    }

    private func call(
        _ method: HTTPMethod,
        path: String,
        query: [(String, String)] = [],
        token: PageAccessToken,
        body: [UInt8]?
    ) async throws(GraphError) -> GraphHTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token.exposedValue)")
        headers.add(name: "Accept", value: "application/json")
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(
                url: url(path, query: query),
                method: method,
                headers: headers,
                body: body.map { .bytes($0) }
            )
        } catch {
            throw GraphError(.transport(.failedBeforeSending("invalid URL")))
        }
        let collector = GraphResponseCollector()
        let deadline = NIODeadline.now() + TimeAmount.nanoseconds(Int64(nanoseconds(configuration.timeout)))
        let response: GraphHTTPResponse
        do {
            // Cancelling the caller's task (a worker told to stop now) ends the call at
            // once; it is then as ambiguous as a timeout after sending.
            let call = httpClient.execute(request: request, delegate: collector, deadline: deadline, logger: logger)
            response = try await withTaskCancellationHandler {
                try await call.futureResult.get()
            } onCancel: {
                call.cancel()
            }
        } catch {
            let writtenAt = collector.requestWrittenAt
            let failure = Self.transportFailure(error, requestSent: writtenAt != nil)
            logger.warning(
                "graph call failed",
                metadata: ["method": "\(method.rawValue)", "path": "\(path)", "failure": "\(failure)"]
            )
            throw GraphError(.transport(failure), requestWrittenAt: writtenAt)
        }
        guard (200..<300).contains(response.status) else {
            let error = GraphError(
                .http(status: response.status, body: GraphErrorBody.parse(response.body)),
                usage: usage(response),
                requestWrittenAt: response.requestWrittenAt
            )
            logger.warning(
                "graph call refused",
                metadata: [
                    "method": "\(method.rawValue)", "path": "\(path)", "status": "\(response.status)",
                    "code": "\(error.body?.code ?? 0)", "subcode": "\(error.body?.subcode ?? 0)",
                    "fbtrace_id": "\(error.body?.fbtraceId ?? "-")",
                ]
            )
            throw error
        }
        logger.debug("graph call", metadata: ["method": "\(method.rawValue)", "path": "\(path)", "status": "\(response.status)"])
        return response
    }

    static func transportFailure(_ error: any Error, requestSent: Bool) -> TransportFailure {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return requestSent ? .timedOutAfterSending : .timedOutBeforeSending
            case .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout, .socksHandshakeTimeout,
                .httpProxyHandshakeTimeout:
                return .connectFailed("\(error)")
            default:
                break
            }
        }
        let text = String(describing: error)
        if requestSent { return .connectionClosedAfterSending(text) }
        if text.localizedCaseInsensitiveContains("connect") { return .connectFailed(text) }
        return .failedBeforeSending(text)
    }

    private func usage(_ response: GraphHTTPResponse) -> BusinessUseCaseUsage? {
        BusinessUseCaseUsage(header: response.usageHeader)
    }

    private func nanoseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}

/// A successful send.
public struct SendResult: Sendable, Hashable {
    public var recipientId: String?
    /// The `mid` Meta gave the message.
    public var messageId: String
    /// The Page's usage after this call, for the rate limiter.
    public var usage: BusinessUseCaseUsage?
    /// When the request's last byte went to the socket: Meta cannot have counted the call
    /// against the Page's rate before (the rate limiter counts it from then).
    public var requestWrittenAt: ContinuousClock.Instant?

    public init(recipientId: String?, messageId: String, usage: BusinessUseCaseUsage? = nil, requestWrittenAt: ContinuousClock.Instant? = nil) {
        self.recipientId = recipientId
        self.messageId = messageId
        self.usage = usage
        self.requestWrittenAt = requestWrittenAt
    }
}

/// A customer's public profile; every field may be missing.
public struct UserProfile: Sendable, Hashable {
    public var firstName: String?
    public var lastName: String?
    /// Expires: download and store it.
    public var profilePicURL: String?

    public init(firstName: String? = nil, lastName: String? = nil, profilePicURL: String? = nil) {
        self.firstName = firstName
        self.lastName = lastName
        self.profilePicURL = profilePicURL
    }

    /// "First Last", or nil when Meta gave no name.
    public var displayName: String? {
        let name = [firstName, lastName].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        return name.isEmpty ? nil : name
    }
}

/// The Page a token belongs to.
public struct PageIdentity: Sendable, Hashable {
    public var id: String
    public var name: String?

    public init(id: String, name: String? = nil) {
        self.id = id
        self.name = name
    }
}

/// An app subscribed to a Page.
public struct SubscribedApp: Sendable, Hashable {
    public var id: String
    public var name: String?
    public var subscribedFields: [String]

    public init(id: String, name: String? = nil, subscribedFields: [String] = []) {
        self.id = id
        self.name = name
        self.subscribedFields = subscribedFields
    }
}
