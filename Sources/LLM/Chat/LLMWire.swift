internal import Foundation

/// The chat-completions wire format: request bodies out, completions and stream chunks in.
/// Kept apart from the client so it is tested without sockets.
enum LLMWire {
    // MARK: Request

    struct RequestBody: Encodable {
        struct Message: Encodable {
            var role: ChatMessage.Role
            var content: String?
            var tool_calls: [WireToolCall]?
            var tool_call_id: String?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(role, forKey: .role)
                // `content` is required, even as null, next to tool calls.
                try container.encode(content, forKey: .content)
                try container.encodeIfPresent(tool_calls, forKey: .tool_calls)
                try container.encodeIfPresent(tool_call_id, forKey: .tool_call_id)
            }

            enum CodingKeys: String, CodingKey { case role, content, tool_calls, tool_call_id }
        }

        struct Tool: Encodable {
            struct Function: Encodable {
                var name: String
                var description: String
                var parameters: LLMJSON
            }
            var type = "function"
            var function: Function
        }

        struct StreamOptions: Encodable { var include_usage: Bool }

        var model: String
        var messages: [Message]
        var temperature: Double?
        var max_tokens: Int?
        var stream: Bool
        var stream_options: StreamOptions?
        var tools: [Tool]?
    }

    struct WireToolCall: Codable {
        struct Function: Codable {
            var name: String?
            var arguments: String?
        }
        var index: Int?
        var id: String?
        var type: String?
        var function: Function?
    }

    /// The JSON body for `request`, sorted keys so it is stable.
    static func body(for request: ChatRequest, configuration: LLMConfiguration, stream: Bool) -> [UInt8] {
        let body = RequestBody(
            model: configuration.model,
            messages: request.messages.map { message in
                RequestBody.Message(
                    role: message.role,
                    content: message.content,
                    tool_calls: message.toolCalls.isEmpty
                        ? nil
                        : message.toolCalls.map {
                            WireToolCall(id: $0.id, type: "function", function: .init(name: $0.name, arguments: $0.arguments))
                        },
                    tool_call_id: message.toolCallId
                )
            },
            temperature: configuration.temperature,
            max_tokens: configuration.maxTokens,
            stream: stream,
            stream_options: stream && configuration.includeUsageInStream ? .init(include_usage: true) : nil,
            tools: request.tools.isEmpty
                ? nil
                : request.tools.map { .init(function: .init(name: $0.name, description: $0.description, parameters: $0.parameters)) }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these types cannot fail: every value is a string, number, bool or LLMJSON.
        return Array((try? encoder.encode(body)) ?? Data())
    }

    // MARK: Response

    struct Usage: Decodable {
        var prompt_tokens: Int?
        var completion_tokens: Int?

        var value: TokenUsage { TokenUsage(promptTokens: prompt_tokens ?? 0, completionTokens: completion_tokens ?? 0) }
    }

    struct ErrorObject: Decodable {
        var message: String?
        var type: String?
        var code: LLMJSON?
    }

    struct Completion: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable {
                var content: String?
                var tool_calls: [WireToolCall]?
            }
            var message: Message?
            var finish_reason: String?
        }
        var model: String?
        var choices: [Choice]?
        var usage: Usage?
        var error: ErrorObject?
    }

    struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable {
                var content: String?
                var tool_calls: [WireToolCall]?
            }
            var index: Int?
            var delta: Delta?
            var finish_reason: String?
        }
        var model: String?
        var choices: [Choice]?
        var usage: Usage?
        var error: ErrorObject?
    }

    struct ErrorEnvelope: Decodable { var error: ErrorObject? }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(bytes))
    }

    /// A non-streamed answer, or `llm.bad_response` when it is not one.
    static func completion(from bytes: [UInt8], attempts: Int) throws(LLMError) -> ChatCompletion {
        guard let wire = decode(Completion.self, bytes) else {
            throw LLMError(.badResponse, "the answer is not a chat completion (\(bytes.count) bytes of non-JSON)")
        }
        if let error = wire.error {
            throw LLMError(.serverError, "the provider answered an error: \(error.message ?? "no message")")
        }
        guard let choice = wire.choices?.first, let message = choice.message else {
            throw LLMError(.badResponse, "the answer has no choices")
        }
        var calls: [ToolCall] = []
        for (position, call) in (message.tool_calls ?? []).enumerated() {
            guard let name = call.function?.name, !name.isEmpty else {
                throw LLMError(.badResponse, "tool call \(position) has no function name")
            }
            calls.append(ToolCall(id: call.id ?? "call_\(position)", name: name, arguments: call.function?.arguments ?? ""))
        }
        return ChatCompletion(
            content: message.content,
            toolCalls: calls,
            finishReason: choice.finish_reason.map(FinishReason.init),
            usage: wire.usage?.value,
            model: wire.model,
            attempts: attempts
        )
    }

    /// The `error.message` of an error body, cut to a readable length.
    static func errorMessage(from bytes: [UInt8]) -> String? {
        guard let message = decode(ErrorEnvelope.self, bytes)?.error?.message else { return nil }
        return message.count > 300 ? String(message.prefix(300)) + "…" : message
    }
}
