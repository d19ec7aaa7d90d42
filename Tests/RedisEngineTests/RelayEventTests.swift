@testable import RedisEngine
import XCTest

final class RelayEventTests: XCTestCase {
    func testADisconnectCarriesItsReasonAndCode() {
        let event = RelayEvent(kind: .disconnect, user: "alice", client: "n1/7", channel: nil, reason: "token_expired", code: 4004)
        XCTAssertEqual(event.command(maxEntries: 5000, node: "n1", time: 1_700_000_000_000), [
            "XADD", "relay:events", "MAXLEN", "~", "5000", "*", "type", "disconnect", "user", "alice", "client", "n1/7",
            "reason", "token_expired", "code", "4004", "node", "n1", "time", "1700000000000",
        ])
    }

    func testAJoinNamesItsChannelAndLeavesOutEmptyFields() {
        let event = RelayEvent(kind: .join, user: "bob", client: "n2/1", channel: "conversation:4", reason: "", code: nil)
        XCTAssertEqual(event.command(maxEntries: 10, node: "n2", time: 5), [
            "XADD", "relay:events", "MAXLEN", "~", "10", "*", "type", "join", "user", "bob", "client", "n2/1",
            "channel", "conversation:4", "node", "n2", "time", "5",
        ])
        let offline = RelayEvent(kind: .offline, user: "bob", client: "", channel: nil, reason: "", code: nil)
        XCTAssertFalse(offline.command(maxEntries: 10, node: "n2", time: 5).contains("client"))
    }

    func testOnlyJoinAndLeaveBelongToAChannel() {
        XCTAssertEqual(["connect", "disconnect", "join", "leave", "online", "offline"].compactMap(RelayEvent.Kind.init).filter(\.isPresence),
                       [.join, .leave])
    }
}
