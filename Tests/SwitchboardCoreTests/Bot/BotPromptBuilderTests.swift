import SwitchboardCore
import Testing

@Suite struct BotPromptBuilderTests {
    @Test func theEstimateIsFourBytesATokenRoundedUp() {
        #expect(TokenEstimate.tokens("") == 0)
        #expect(TokenEstimate.tokens("abcd") == 1)
        #expect(TokenEstimate.tokens("abcde") == 2)
        #expect(TokenEstimate.tokens("ü") == 1)
        #expect(TokenEstimate.tokens("日本語") == 3)
        #expect(TokenEstimate.tokens(BotPromptMessage(.user, "abcd")) == 5)
    }

    @Test func everythingFitsInOrderWithRoles() {
        let builder = BotPromptBuilder(systemPrompt: "You are Demo Shop's assistant.", knowledge: "Q: Shipping?\nA: 3 days.", tokenBudget: 1000)
        let prompt = builder.build(transcript: [
            BotTranscriptEntry(.customer, "Hi"),
            BotTranscriptEntry(.bot, "Hello! How can I help?"),
            BotTranscriptEntry(.agent, "Ana here, checking."),
            BotTranscriptEntry(.otherApp, "Sent from the Page inbox."),
            BotTranscriptEntry(.note, "A human agent handed the conversation back to you."),
            BotTranscriptEntry(.customer, "Where is my order?"),
        ])
        #expect(prompt.droppedEntries == 0)
        #expect(prompt.messages.map(\.role) == [.system, .user, .assistant, .assistant, .assistant, .system, .user])
        #expect(prompt.messages[0].content.hasPrefix("You are Demo Shop's assistant."))
        #expect(prompt.messages[0].content.contains("Q: Shipping?\nA: 3 days."))
        #expect(prompt.messages[3].content == "[written by a human agent] Ana here, checking.")
        #expect(prompt.messages[4].content.hasPrefix("[written by a human in Meta's inbox]"))
        #expect(prompt.messages.last?.content == "Where is my order?")
        #expect(prompt.estimatedTokens == prompt.messages.map(TokenEstimate.tokens).reduce(0, +))
    }

    @Test func theOldestMessagesGoFirstAndTheBudgetHolds() {
        let builder = BotPromptBuilder(systemPrompt: "System.", tokenBudget: 60)
        let transcript = (1...20).map { BotTranscriptEntry($0.isMultiple(of: 2) ? .bot : .customer, "message number \($0) here") }
        let prompt = builder.build(transcript: transcript)
        #expect(prompt.estimatedTokens <= 60)
        #expect(prompt.droppedEntries > 0)
        #expect(prompt.messages.count == 1 + 20 - prompt.droppedEntries)
        // The newest are kept, contiguous, in order.
        #expect(prompt.messages.last?.content == "message number 20 here")
        let kept = prompt.messages.dropFirst().map(\.content)
        #expect(kept == transcript.suffix(kept.count).map(\.text))
    }

    @Test func theNewestMessageIsKeptEvenWhenTooLongCutFromItsStart() {
        let builder = BotPromptBuilder(systemPrompt: "System.", tokenBudget: 40)
        let long = String(repeating: "word ", count: 200) + "THE END"
        let prompt = builder.build(transcript: [BotTranscriptEntry(.customer, "older"), BotTranscriptEntry(.customer, long)])
        #expect(prompt.messages.count == 2)
        #expect(prompt.droppedEntries == 1)
        #expect(prompt.messages[1].content.hasPrefix("…"))
        #expect(prompt.messages[1].content.hasSuffix("THE END"))
        #expect(prompt.estimatedTokens <= 40)
    }

    @Test func knowledgeIsCutToLeaveRoomForTheConversation() {
        let knowledge = String(repeating: "Fact. ", count: 500)
        let builder = BotPromptBuilder(systemPrompt: "System.", knowledge: knowledge, tokenBudget: 200)
        let prompt = builder.build(transcript: [BotTranscriptEntry(.customer, "What are your opening hours?")])
        #expect(prompt.messages[0].content.hasSuffix("…"))
        #expect(TokenEstimate.tokens(prompt.messages[0]) <= 150)
        #expect(prompt.messages.last?.content == "What are your opening hours?")
        #expect(prompt.estimatedTokens <= 200)
    }

    @Test func anEmptyTranscriptIsJustTheSystemPrompt() {
        let prompt = BotPromptBuilder(systemPrompt: "System.").build(transcript: [])
        #expect(prompt.messages == [BotPromptMessage(.system, "System.")])
    }
}
