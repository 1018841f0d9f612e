import SwitchboardCore
import Testing

@Suite("Presence and viewers")
struct PresenceStateTests {
    typealias Viewer = PresenceState.Viewer

    @Test("a user is online from the first socket to the last, and only those changes are announced")
    func onlineUntilTheLastSocket() {
        var state = PresenceState()
        #expect(state.connect(socketId: "a1", userId: "1", name: "Ann")?.status == .online)
        #expect(state.connect(socketId: "a2", userId: "1", name: "Ann") == nil)
        #expect(state.snapshot.map(\.userId) == ["1"])
        #expect(state.disconnect(socketId: "a1").presence == nil)
        #expect(state.status(of: "1") == .online)
        #expect(state.disconnect(socketId: "a2").presence?.status == .offline)
        #expect(state.snapshot.isEmpty)
        #expect(state.disconnect(socketId: "a2").presence == nil, "a second disconnect of the same socket changes nothing")
    }

    @Test("a chosen status applies to every socket of the user and is forgotten when they go")
    func chosenStatus() {
        var state = PresenceState()
        _ = state.connect(socketId: "a1", userId: "1", name: "Ann")
        _ = state.connect(socketId: "a2", userId: "1", name: "Ann")
        #expect(state.set(.away, socketId: "a2")?.status == .away)
        #expect(state.set(.away, socketId: "a1") == nil)
        #expect(state.status(of: "1") == .away)
        #expect(state.set(.offline, socketId: "a1")?.status == .offline)
        #expect(state.snapshot.isEmpty, "appearing offline hides the user")
        _ = state.disconnect(socketId: "a1")
        #expect(state.disconnect(socketId: "a2").presence == nil, "already shown offline")
        #expect(state.connect(socketId: "a3", userId: "1", name: "Ann")?.status == .online, "a new visit starts online")
        #expect(state.set(.away, socketId: "nobody") == nil, "an unknown socket chooses nothing")
    }

    @Test("viewers are users, not tabs; changes are announced only when the set of users changes")
    func viewers() {
        var state = PresenceState()
        _ = state.connect(socketId: "a1", userId: "1", name: "Ann")
        _ = state.connect(socketId: "a2", userId: "1", name: "Ann")
        _ = state.connect(socketId: "b1", userId: "2", name: "Bob")
        #expect(state.startViewing(socketId: "a1", conversationId: "9")?.viewers == [Viewer(userId: "1", name: "Ann")])
        #expect(state.startViewing(socketId: "a2", conversationId: "9") == nil, "Ann's second tab")
        let both = state.startViewing(socketId: "b1", conversationId: "9")
        #expect(both?.viewers == [Viewer(userId: "1", name: "Ann"), Viewer(userId: "2", name: "Bob")])
        #expect(state.stopViewing(socketId: "a1", conversationId: "9") == nil, "Ann still views in her other tab")
        #expect(state.stopViewing(socketId: "a1", conversationId: "9") == nil, "not viewing any more")
        #expect(state.disconnect(socketId: "a1") == (nil, []), "Ann's first tab closes; her second still views")
        let left = state.disconnect(socketId: "a2")
        #expect(left.presence?.status == .offline)
        #expect(left.viewers.map(\.viewers) == [[Viewer(userId: "2", name: "Bob")]])
        #expect(state.startViewing(socketId: "gone", conversationId: "9") == nil, "an unknown socket views nothing")
        #expect(state.viewers(of: "10").isEmpty)
    }
}
