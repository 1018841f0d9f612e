internal import Foundation
internal import HTTPTypes
public import Hummingbird
internal import LLM
internal import NIOCore
internal import ServiceLifecycle

extension LLMEmulator {
    /// Adds `POST /v1/chat/completions` and `GET /v1/models`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let emulator = self
        router.post("/v1/chat/completions") { request, _ in
            // The model's own time starts when the request reaches it, before its body is read.
            let arrivedAt = Date()
            let body = try await request.body.collect(upTo: 16 << 20)
            return await emulator.chatCompletions(
                body: Array(body.readableBytesView),
                authorization: request.headers[.authorization],
                arrivedAt: arrivedAt
            )
        }
        router.get("/v1/models") { _, _ in
            let model = emulator.configuration.model
            return Self.response(
                status: 200,
                body: CompletionRenderer.json(["object": "list", "data": [["id": .string(model), "object": "model", "owned_by": "switchboard"]]])
            )
        }
    }

    func chatCompletions(body: [UInt8], authorization: String?, arrivedAt: Date) async -> Response {
        guard let plan = plan(body: body, authorization: authorization, arrivedAt: arrivedAt) else {
            return Self.response(status: 400, body: CompletionRenderer.error(status: 400))
        }
        let number = plan.request.number
        emit(.requestReceived(number: number))
        func answered(_ response: Response) -> Response {
            markAnswered(number)
            emit(.answered(number: number, status: Int(response.status.code)))
            return response
        }
        if plan.unauthorized { return answered(Self.response(status: 401, body: CompletionRenderer.error(status: 401))) }
        // A stream's first token comes halfway through the latency, its last at the end.
        let streamFault = plan.fault.flatMap { effect -> LLMFault.Effect? in
            if case .latency = effect { return nil }
            return effect
        }
        let streamed = plan.request.stream && streamFault == nil
        let firstToken = streamed ? plan.latency / 2 : plan.latency
        if firstToken > .zero { try? await Task.sleep(for: firstToken) }

        switch plan.fault {
        case .status(let status, let retryAfter)?:
            var response = Self.response(status: status, body: CompletionRenderer.error(status: status))
            if let retryAfter { response.headers[.retryAfter] = retryAfter }
            return answered(response)
        case .latency(let delay)?:
            try? await Task.sleep(for: delay)
        case .hang?:
            await hold(number)
            return answered(Self.response(status: 503, body: CompletionRenderer.error(status: 503)))
        default:
            break
        }

        let renderer = CompletionRenderer(
            model: plan.request.model ?? configuration.model,
            requestNumber: number,
            promptTokens: CompletionRenderer.tokens(plan.request.messages.compactMap(\.content).joined())
        )
        guard plan.request.stream else {
            let body: String =
                switch plan.fault {
                case .malformedStream?, .oversizedLine?: "{\"id\": \"chatcmpl-emu\", \"choices\": [ {\"mess"
                case .truncatedStream?: String(renderer.completion(plan.answer).prefix(40))
                default: renderer.completion(plan.answer)
                }
            if case .hangAfterFirstChunk? = plan.fault { await hold(number) }
            return answered(Self.response(status: 200, body: body))
        }
        let frames = renderer.streamFrames(plan.answer, includeUsage: plan.request.includeUsage)
        emit(.answered(number: number, status: 200))
        return stream(frames, fault: streamFault, number: number, rest: plan.latency - firstToken)
    }

    /// The streamed response; a stream fault cuts or spoils it after the first content chunk.
    /// Without a fault, the role chunk and first piece go at once and the other frames are
    /// spread over `rest`, as a model writes tokens: the last one (and the answer's end, for
    /// the model's own time) lands when the latency is up. A fault's frames go at once.
    private func stream(_ frames: [String], fault: LLMFault.Effect?, number: Int, rest: Duration) -> Response {
        let emulator = self
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let body = ResponseBody { writer in
            // The role chunk and the first piece: the client has its first token.
            let good = min(2, frames.count)
            var sent = [frames[..<good].joined()]
            switch fault {
            case nil: sent += frames[good...]
            case .malformedStream?: sent.append(CompletionRenderer.frame("{\"choices\": [ {\"delta\": {\"content\": \"oops"))
            case .oversizedLine(let bytes)?: sent.append("data: " + String(repeating: "x", count: bytes))
            default: break
            }
            let pause: Duration = fault == nil && sent.count > 1 ? rest / (sent.count - 1) : .zero
            for (index, frame) in sent.enumerated() {
                if index > 0, pause > .zero { try? await Task.sleep(for: pause) }
                try await writer.write(ByteBuffer(string: frame))
            }
            emulator.markAnswered(number)
            if case .hangAfterFirstChunk? = fault { await emulator.hold(number) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Holds a call until the server shuts down gracefully (or the task is cancelled).
    func hold(_ number: Int) async {
        emit(.holding(number: number))
        await cancelWhenGracefulShutdown {
            try? await Task.sleep(for: .seconds(24 * 3600))
        }
    }

    static func response(status: Int, body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
