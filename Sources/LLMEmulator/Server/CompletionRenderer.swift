internal import Foundation
internal import LLM

/// Renders the emulator's answers in OpenAI's shapes: one JSON body, or the chunks of a
/// server-sent-events stream. Pure, so the emulator's tests can check the bytes.
struct CompletionRenderer {
    let model: String
    let requestNumber: Int
    let promptTokens: Int

    var id: String { "chatcmpl-emu-\(requestNumber)" }

    static func json(_ value: LLMJSON) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// A rough token count (4 characters a token), enough for usage figures.
    static func tokens(_ text: String) -> Int { (text.count + 3) / 4 }

    func completionTokens(_ answer: ScriptedAnswer) -> Int {
        switch answer {
        case .text(let text): Self.tokens(text)
        case .toolCall(let name, let arguments): Self.tokens(name + arguments)
        }
    }

    func usage(_ answer: ScriptedAnswer) -> LLMJSON {
        let completion = completionTokens(answer)
        return [
            "prompt_tokens": .number(Double(promptTokens)), "completion_tokens": .number(Double(completion)),
            "total_tokens": .number(Double(promptTokens + completion)),
        ]
    }

    func toolCallJSON(name: String, arguments: String) -> LLMJSON {
        ["id": .string("call_emu_\(requestNumber)"), "type": "function", "function": ["name": .string(name), "arguments": .string(arguments)]]
    }

    /// The non-streamed body.
    func completion(_ answer: ScriptedAnswer) -> String {
        var message: [String: LLMJSON] = ["role": "assistant"]
        let finish: String
        switch answer {
        case .text(let text):
            message["content"] = .string(text)
            finish = "stop"
        case .toolCall(let name, let arguments):
            message["content"] = .null
            message["tool_calls"] = [toolCallJSON(name: name, arguments: arguments)]
            finish = "tool_calls"
        }
        return Self.json([
            "id": .string(id), "object": "chat.completion", "created": 0, "model": .string(model),
            "choices": [["index": 0, "message": .object(message), "finish_reason": .string(finish)]],
            "usage": usage(answer),
        ])
    }

    /// One `data:` frame.
    static func frame(_ data: String) -> String { "data: \(data)\n\n" }

    func chunk(delta: LLMJSON, finish: String? = nil) -> String {
        Self.frame(
            Self.json([
                "id": .string(id), "object": "chat.completion.chunk", "created": 0, "model": .string(model),
                "choices": [["index": 0, "delta": delta, "finish_reason": finish.map(LLMJSON.string) ?? .null]],
            ])
        )
    }

    /// The stream's frames in order: the role, the pieces, the finish, usage if asked, `[DONE]`.
    func streamFrames(_ answer: ScriptedAnswer, includeUsage: Bool) -> [String] {
        var frames = [chunk(delta: ["role": "assistant", "content": ""])]
        let finish: String
        switch answer {
        case .text(let text):
            frames += Self.pieces(of: text).map { chunk(delta: ["content": .string($0)]) }
            finish = "stop"
        case .toolCall(let name, let arguments):
            let head: LLMJSON = [
                "index": 0, "id": .string("call_emu_\(requestNumber)"), "type": "function",
                "function": ["name": .string(name), "arguments": ""],
            ]
            frames.append(chunk(delta: ["tool_calls": [head]]))
            let middle = arguments.index(arguments.startIndex, offsetBy: arguments.count / 2)
            for part in [arguments[..<middle], arguments[middle...]] where !part.isEmpty {
                frames.append(chunk(delta: ["tool_calls": [["index": 0, "function": ["arguments": .string(String(part))]]]]))
            }
            finish = "tool_calls"
        }
        frames.append(chunk(delta: [:], finish: finish))
        if includeUsage {
            frames.append(
                Self.frame(
                    Self.json([
                        "id": .string(id), "object": "chat.completion.chunk", "created": 0, "model": .string(model),
                        "choices": [], "usage": usage(answer),
                    ])
                )
            )
        }
        frames.append(Self.frame("[DONE]"))
        return frames
    }

    /// Text cut after each space, as models stream words.
    static func pieces(of text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if character == " " {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// An OpenAI-shaped error body.
    static func error(status: Int) -> String {
        let (type, code, message): (String, String, String) =
            switch status {
            case 401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided (emulated).")
            case 429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached (emulated).")
            case 500...599: ("server_error", "server_error", "The server had an error processing your request (emulated).")
            default: ("invalid_request_error", "invalid_request", "The request was refused (emulated).")
            }
        return json(["error": ["message": .string(message), "type": .string(type), "code": .string(code)]])
    }
}
