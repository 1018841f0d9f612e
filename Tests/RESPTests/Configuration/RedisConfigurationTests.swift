import Testing

@testable import RESP

@Suite struct RedisConfigurationTests {
    @Test func parsesPlainURL() throws {
        let c = try RedisConfiguration(url: "redis://localhost:6380/2")
        #expect(c.host == "localhost")
        #expect(c.port == 6380)
        #expect(c.database == 2)
        #expect(c.tls == nil)
        #expect(c.password == nil)
        #expect(c.maskedDescription == "redis://localhost:6380/2")
    }

    @Test func defaultsPortAndDatabase() throws {
        let c = try RedisConfiguration(url: "redis://example.com")
        #expect(c.port == 6379)
        #expect(c.database == 0)
        #expect(c.maskedDescription == "redis://example.com:6379")
    }

    @Test func parsesCredentialsAndMasksThem() throws {
        let c = try RedisConfiguration(url: "rediss://alice:p%40ss%3Aword@10.0.0.1:6390/1?protocol=2&name=web", caFile: "/ca.pem")
        #expect(c.username == "alice")
        #expect(c.password == "p@ss:word")
        #expect(c.tls == RedisConfiguration.TLS(caFile: "/ca.pem"))
        #expect(c.protocolVersion == .resp2)
        #expect(c.clientName == "web")
        #expect(c.maskedDescription == "rediss://alice:****@10.0.0.1:6390/1")
        #expect("\(c)" == c.maskedDescription)
        #expect(!"\(c)".contains("p@ss"))
    }

    @Test func passwordOnlyForms() throws {
        let a = try RedisConfiguration(url: "redis://:secret@localhost:6379")
        #expect(a.username == nil && a.password == "secret")
        #expect(a.maskedDescription == "redis://:****@localhost:6379")
        let b = try RedisConfiguration(url: "redis://secret@localhost")
        #expect(b.password == "secret")
    }

    @Test func ipv6Host() throws {
        let c = try RedisConfiguration(url: "redis://[::1]:7000")
        #expect(c.host == "::1")
        #expect(c.port == 7000)
        #expect(c.maskedDescription == "redis://[::1]:7000")
    }

    @Test(arguments: ["http://x", "redis://host:notaport", "redis://host/db", "redis://host:70000", "redis://h?protocol=4"])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func invalidURLErrorMasksPassword() {
        do {
            _ = try RedisConfiguration(url: "redis://:hunter2@host:bad")
            Issue.record("should throw")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(!error.message.contains("hunter2"))
        }
    }

    @Test func backoffGrowsAndIsCapped() {
        let b = RedisConfiguration.Backoff(initialDelay: .milliseconds(100), maximumDelay: .seconds(1), multiplier: 2, jitter: 0.5)
        #expect(b.delay(attempt: 0, random: 0) == .milliseconds(100))
        #expect(b.delay(attempt: 2, random: 0) == .milliseconds(400))
        #expect(b.delay(attempt: 2, random: 1) == .milliseconds(600))
        #expect(b.delay(attempt: 50, random: 1) == .seconds(1))
    }
}
