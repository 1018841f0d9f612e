internal import Logging
public import ServiceLifecycle

/// Demo mode's customers: a handful of named people who write to the demo Page now and
/// then, so a newcomer sees live traffic without a Facebook app. Answers sent through the
/// Send API come back as echo, delivery and read like with Meta.
public struct DemoTrafficService: Service {
    public struct Options: Sendable {
        /// Mean pause between two customer messages.
        public var interval: Duration
        /// Chance that a POST is duplicated, as Meta sometimes does.
        public var duplicateProbability: Double
        /// Stop after this many messages (nil: until shutdown).
        public var limit: Int?

        public init(interval: Duration = .seconds(20), duplicateProbability: Double = 0.05, limit: Int? = nil) {
            self.interval = interval
            self.duplicateProbability = duplicateProbability
            self.limit = limit
        }
    }

    static let people: [(String, String)] = [
        ("Ana", "Silva"), ("Jonas", "Berg"), ("Mei", "Tanaka"), ("Omar", "Haddad"), ("Lucía", "Fernández"),
    ]

    static let lines: [String] = [
        "Hi! Is the blue jacket still in stock?", "What are your opening hours on Saturday?",
        "Do you ship to Austria?", "My order hasn't arrived yet 😕", "Can I change the size of my order?",
        "Thanks, that helps a lot!", "Is there a discount for students?", "Can I talk to a person please?",
        "Where is my parcel? Order #4471", "Do you have this in green?", "ok 👍",
    ]

    let emulator: GraphEmulator
    let pageId: String
    let options: Options

    public init(emulator: GraphEmulator, pageId: String, options: Options = Options()) {
        self.emulator = emulator
        self.pageId = pageId
        self.options = options
    }

    public func run() async throws {
        let simulatorOptions = CustomerSimulator.Options(duplicateProbability: options.duplicateProbability)
        var customers = emulator.customers(pageId: pageId).compactMap {
            emulator.customer(pageId: pageId, psid: $0.psid, options: simulatorOptions)
        }
        if customers.isEmpty {
            customers = Self.people.enumerated().map { index, person in
                emulator.addCustomer(
                    pageId: pageId,
                    firstName: person.0,
                    lastName: person.1,
                    readsMessages: index % 3 != 2,
                    options: simulatorOptions
                )
            }
        }
        let cast = customers
        await cancelWhenGracefulShutdown {
            await talk(cast)
        }
    }

    private func talk(_ customers: [CustomerSimulator]) async {
        var sent = 0
        while !Task.isCancelled, options.limit.map({ sent < $0 }) ?? true {
            let jitter = Double.random(in: 0.5...1.5)
            do { try await Task.sleep(for: options.interval * jitter) } catch { return }
            guard let customer = customers.randomElement() else { return }
            do {
                if Int.random(in: 0..<8) == 0 {
                    try await customer.tapQuickReply(title: "Track my order", payload: "TRACK_ORDER")
                } else {
                    try await customer.say(Self.lines.randomElement() ?? "Hello")
                }
            } catch {
                emulator.logger.info("demo customer could not write", metadata: ["error": "\(error)"])
            }
            sent += 1
        }
    }
}
