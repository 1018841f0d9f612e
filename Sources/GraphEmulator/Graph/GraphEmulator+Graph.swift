internal import Foundation
@_spi(GraphEmulator) internal import Messenger
internal import ServiceLifecycle
internal import Synchronization

/// What a Graph route answers.
enum GraphAnswer: Sendable {
    case json(status: Int, JSONValue, usageHeader: String?)
    /// Close the connection without answering.
    case reset

    static func ok(_ value: JSONValue, usage: String? = nil) -> GraphAnswer { .json(status: 200, value, usageHeader: usage) }
    static func error(_ error: EmulatedGraphError, usage: String? = nil) -> GraphAnswer {
        .json(status: error.status, error.json, usageHeader: usage)
    }
}

extension GraphEmulator {
    // MARK: - GET /me, GET /{psid}, subscribed_apps

    func me(token: String?) -> GraphAnswer {
        guard let page = state.withLock({ $0.page(forToken: token) }) else { return .error(tokenError(token)) }
        return .ok(.object(["id": .string(page.id), "name": .string(page.name)]))
    }

    /// `avatarBase` is the emulator's own address, for `profile_pic`.
    func profile(id: String, token: String?, fields: [String], avatarBase: String) -> GraphAnswer {
        let (page, customer) = state.withLock { state in
            let page = state.page(forToken: token)
            return (page, page.flatMap { state.customers[CustomerKey($0.id, id)] })
        }
        guard let page else { return .error(tokenError(token)) }
        if id == page.id { return .ok(.object(["id": .string(page.id), "name": .string(page.name)])) }
        guard let customer else { return .error(.unsupported("get", id: id)) }
        switch customer.profile {
        case .empty: return .ok(.object([:]))
        case .unavailable: return .error(.noProfile)
        case .visible: break
        }
        let wanted = fields.isEmpty ? ["first_name", "last_name", "profile_pic"] : fields
        var object: [String: JSONValue] = ["id": .string(customer.psid)]
        for field in wanted {
            switch field {
            case "first_name": object["first_name"] = .string(customer.firstName)
            case "last_name": object["last_name"] = .string(customer.lastName)
            case "name": object["name"] = .string("\(customer.firstName) \(customer.lastName)")
            case "profile_pic":
                object["profile_pic"] = .string("\(avatarBase)/_emulator/avatars/\(customer.pageId)/\(customer.psid).svg")
            default: break
            }
        }
        return .ok(.object(object))
    }

    func subscribeApp(pagePath: String, token: String?, fields: [String]) -> GraphAnswer {
        state.withLock { state in
            guard let page = state.page(forToken: token) else { return .error(tokenError(token)) }
            guard pagePath == page.id || pagePath == "me" else { return .error(.unsupported("post", id: pagePath)) }
            guard !fields.isEmpty else {
                return .error(.invalidParameter("The parameter subscribed_fields is required."))
            }
            state.subscriptions[page.id] = fields
            return .ok(.object(["success": .bool(true)]))
        }
    }

    func subscribedApps(pagePath: String, token: String?) -> GraphAnswer {
        state.withLock { state in
            guard let page = state.page(forToken: token) else { return .error(tokenError(token)) }
            guard pagePath == page.id || pagePath == "me" else { return .error(.unsupported("get", id: pagePath)) }
            guard let fields = state.subscriptions[page.id] else { return .ok(.object(["data": .array([])])) }
            return .ok(
                .object([
                    "data": .array([
                        .object([
                            "category": .string("Business"), "link": .string("https://switchboard.invalid/"),
                            "name": .string("Switchboard"), "id": .string(state.configuration.appId),
                            "subscribed_fields": .array(fields.map { .string($0) }),
                        ])
                    ])
                ])
            )
        }
    }

    private func tokenError(_ token: String?) -> EmulatedGraphError {
        (token ?? "").isEmpty ? .missingToken : .invalidToken
    }

    // MARK: - POST /{page}/messages

    /// The Send API and sender actions, with faults, rate limit, window and validation.
    func messages(pagePath: String, token: String?, body: [UInt8]) async -> GraphAnswer {
        guard let page = state.withLock({ $0.page(forToken: token) }) else { return .error(tokenError(token)) }
        guard pagePath == page.id || pagePath == "me" else { return .error(.unsupported("post", id: pagePath)) }
        guard let request = JSONValue.parse(body), request.object != nil else {
            return .error(.invalidParameter("The request body must be JSON."))
        }
        let psid = request["recipient"]?["id"]?.id
        let isSenderAction = request["sender_action"] != nil
        let now = clock.now
        let (budget, fault) = state.withLock { state in
            if !isSenderAction { state.sendCount += 1 }
            let usage = state.recordCall(pageId: page.id, now: now)
            let fault = state.takeFault(
                pageId: page.id,
                psid: psid,
                sendNumber: isSenderAction ? -1 : state.sendCount,
                isSenderAction: isSenderAction
            )
            return (usage, fault)
        }
        let configuration = self.configuration
        // Counted as it arrived; Meta then takes its time to answer.
        if configuration.sendLatency > .zero {
            do { try await Task.sleep(for: configuration.sendLatency) } catch { return .reset }
        }
        if budget.exceeded {
            let usage = usageHeader(page: page.id, percent: 100, regainMinutes: configuration.throttleRegainMinutes)
            emit(.sendRefused(pageId: page.id, psid: psid, code: configuration.throttleCode, subcode: nil))
            return .error(.throttled(code: configuration.throttleCode), usage: usage)
        }
        let usage = usageHeader(page: page.id, percent: budget.percent, regainMinutes: 0)

        switch fault {
        case .graphError(let code, let subcode, let status, let message)?:
            emit(.sendRefused(pageId: page.id, psid: psid, code: code, subcode: subcode))
            let regain = [4, 32, 613].contains(code) ? configuration.throttleRegainMinutes : 0
            let header = regain > 0 ? usageHeader(page: page.id, percent: 100, regainMinutes: regain) : usage
            return .error(.injected(code: code, subcode: subcode, status: status, message: message), usage: header)
        case .latency(let duration)?:
            do { try await Task.sleep(for: duration) } catch { return .reset }
        case .resetAfterRead(deliver: false)?:
            return .reset
        case .resetAfterRead(deliver: true)?, .timeoutAfterAccepting?, nil:
            break
        }

        let answer = accept(page: page, request: request, psid: psid, isSenderAction: isSenderAction, usage: usage)
        switch fault {
        case .resetAfterRead?:
            return .reset
        case .timeoutAfterAccepting(let hold)?:
            // Held until the hold ends, the task is cancelled or the server shuts down.
            await cancelWhenGracefulShutdown {
                try? await Task.sleep(for: hold ?? configuration.defaultHold)
            }
            return answer
        default:
            return answer
        }
    }

    /// Validates and, when valid, delivers to the customer and queues the webhooks.
    private func accept(
        page: EmulatedPage,
        request: JSONValue,
        psid: String?,
        isSenderAction: Bool,
        usage: String
    ) -> GraphAnswer {
        func refuse(_ error: EmulatedGraphError) -> GraphAnswer {
            emit(.sendRefused(pageId: page.id, psid: psid, code: error.code, subcode: error.subcode))
            return .error(error, usage: usage)
        }
        let message = request["message"]
        if isSenderAction && message != nil { return refuse(.messageAndSenderAction) }
        guard let psid else { return refuse(.invalidParameter("param recipient must be non-empty.")) }
        guard let customer = state.withLock({ $0.customers[CustomerKey(page.id, psid)] }) else {
            return refuse(.noMatchingUser)
        }
        let nowDate = clock.now
        let now = clock.nowMilliseconds
        let elapsed = customer.lastInboundAt.map { nowDate.timeIntervalSince($0) }

        if isSenderAction {
            guard let action = request["sender_action"]?.string, ["typing_on", "typing_off", "mark_seen"].contains(action) else {
                return refuse(.invalidParameter("param sender_action must be one of {TYPING_ON, TYPING_OFF, MARK_SEEN}"))
            }
            guard let elapsed, elapsed < MessagingWindow.standard else { return refuse(.outsideWindow) }
            let received = ReceivedSenderAction(action: action, timestamp: now)
            state.withLock { $0.senderActions[CustomerKey(page.id, psid), default: []].append(received) }
            emit(.senderActionReceived(pageId: page.id, psid: psid, received))
            return .ok(.object(["recipient_id": .string(psid)]), usage: usage)
        }

        guard let message, message.object != nil else {
            return refuse(.invalidParameter("param message must be non-empty."))
        }
        let messagingType = request["messaging_type"]?.string ?? "RESPONSE"
        let tag = request["tag"]?.string
        guard ["RESPONSE", "UPDATE", "MESSAGE_TAG"].contains(messagingType) else {
            return refuse(.invalidParameter("param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"))
        }
        if messagingType == "MESSAGE_TAG" && (tag ?? "").isEmpty {
            return refuse(.invalidParameter("param tag must be non-empty when messaging_type is MESSAGE_TAG"))
        }
        let text = message["text"]?.string
        let attachment = message["attachment"]
        if let text, text.count > SendRequest.maxTextLength { return refuse(.textTooLong) }
        if (text ?? "").isEmpty && attachment == nil { return refuse(.emptyMessage) }
        let quickReplies = message["quick_replies"]?.array ?? []
        if quickReplies.count > SendRequest.maxQuickReplies {
            return refuse(.invalidParameter("param message[quick_replies] must have at most 13 elements"))
        }
        let metadata = message["metadata"]?.string
        if let metadata, metadata.count > SendRequest.maxMetadataLength {
            return refuse(.invalidParameter("Length of param message[metadata] must be less than 1000"))
        }
        // Windows (messenger-platform.md §6.3), on the emulator's clock.
        let inStandard = elapsed.map { $0 < MessagingWindow.standard } ?? false
        let inHumanAgent = elapsed.map { $0 < MessagingWindow.humanAgent } ?? false
        let allowed = inStandard || (messagingType == "MESSAGE_TAG" && tag == "HUMAN_AGENT" && inHumanAgent)
        guard allowed else { return refuse(.outsideWindow) }

        let received = ReceivedMessage(
            mid: WebhookBuilder.mid(),
            text: text,
            attachmentType: attachment?["type"]?.string,
            attachmentURL: attachment?["payload"]?["url"]?.string,
            quickReplies: quickReplies.compactMap { $0["title"]?.string },
            metadata: metadata,
            messagingType: messagingType,
            tag: tag,
            replyToMid: request["reply_to"]?["mid"]?.id,
            timestamp: now
        )
        state.withLock { $0.received[CustomerKey(page.id, psid), default: []].append(received) }
        emit(.messageReceived(pageId: page.id, psid: psid, received))
        enqueueReceipts(pageId: page.id, psid: psid, message: received, reads: customer.readsMessages)
        return .ok(.object(["recipient_id": .string(psid), "message_id": .string(received.mid)]), usage: usage)
    }

    private func usageHeader(page: String, percent: Int, regainMinutes: Int) -> String {
        let clamped = min(100, percent)
        return BusinessUseCaseUsage(entries: [
            page: [
                .init(
                    type: "pages",
                    callCount: clamped,
                    totalCPUTime: clamped / 2,
                    totalTime: clamped / 2,
                    estimatedTimeToRegainAccess: regainMinutes
                )
            ]
        ]).headerValue
    }
}
