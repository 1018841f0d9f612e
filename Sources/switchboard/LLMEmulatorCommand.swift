import ArgumentParser
import LLMEmulator
import ServiceLifecycle
import UnixSignals

struct LLMEmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm-emulator",
        abstract: "Run the LLM emulator: a local OpenAI-compatible /v1/chat/completions for the bot's demos and tests.",
        discussion: """
            Point the bot at it with LLM_BASE_URL=http://127.0.0.1:PORT/v1. It answers from a small rule-based model
            (a `handover` tool call when the customer asks for a person), streams when asked, and takes faults and
            scripted answers under /_emulator/ (see docs/bot.md).
            """
    )

    @Option(help: "Port to listen on.") var port = 3200
    @Option(help: "Milliseconds every answer takes (simulated model latency; a stream's first token comes halfway).") var latencyMs = 0
    @Option(help: "Model name reported in answers.") var model = "emulated-gpt"
    @Option(help: "Require this API key (Authorization: Bearer); none: any request is accepted.") var apiKey: String?

    func run() async throws {
        let logger = makeLogger("llm-emulator")
        let emulator = LLMEmulator(
            configuration: LLMEmulatorConfiguration(model: model, apiKey: apiKey, latency: .milliseconds(latencyMs)),
            logger: logger
        )
        let model = model
        let app = LLMEmulatorServer.build(
            emulator: emulator,
            port: port,
            onServerRunning: { port in print("LLM emulator on http://127.0.0.1:\(port)/v1 (model \(model))") },
            logger: logger
        )
        try await ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
