import Redis
import XCTest

final class ClusterSlotsTests: XCTestCase {
    func testSlotsAreCRC16OfTheKeyModulo16384() {
        // The figures of the Redis Cluster specification and `CLUSTER KEYSLOT`.
        XCTAssertEqual(HashSlot.of("somekey"), 11058)
        XCTAssertEqual(HashSlot.of("foo"), 12182)
        XCTAssertEqual(HashSlot.of("hello"), 866)
        XCTAssertEqual(HashSlot.of(""), 0)
    }

    func testAHashTagPicksThePartBetweenTheFirstBraces() {
        XCTAssertEqual(HashSlot.of("{user1000}.following"), HashSlot.of("user1000"))
        XCTAssertEqual(HashSlot.of("relay:ch:{conversation:42}:meta"), HashSlot.of("relay:pub:{conversation:42}"))
        XCTAssertEqual(HashSlot.of("foo{bar}{zap}"), HashSlot.of("bar"))
        XCTAssertEqual(HashSlot.of("foo{{bar}}zap"), HashSlot.of("{bar"))
        // An empty tag is no tag: the whole key counts.
        XCTAssertNotEqual(HashSlot.of("foo{}{bar}"), HashSlot.of("bar"))
        XCTAssertEqual(HashSlot.of("{relay:inbox}:leases"), HashSlot.of("relay:inbox"))
    }

    private func range(_ start: Int64, _ end: Int64, _ host: String, _ port: Int64) -> RESPValue {
        .array([.integer(start), .integer(end), .array([.bulk(Array(host.utf8)), .integer(port), .bulk(Array("id".utf8))]),
                .array([.bulk(Array("127.0.0.9".utf8)), .integer(9999)])])
    }

    func testASlotTableNamesEachSlotsMaster() throws {
        let reply = RESPValue.array([range(0, 5460, "127.0.0.1", 7001), range(5461, 10922, "127.0.0.1", 7002),
                                     range(10923, 16383, "", 7003)])
        let slots = try XCTUnwrap(ClusterSlots(reply: reply, seedHost: "10.0.0.5"))
        XCTAssertEqual(slots.masters, ["127.0.0.1:7001", "127.0.0.1:7002", "10.0.0.5:7003"])
        XCTAssertEqual(slots.master(of: 0), "127.0.0.1:7001")
        XCTAssertEqual(slots.master(of: 5461), "127.0.0.1:7002")
        XCTAssertEqual(slots.master(of: 16383), "10.0.0.5:7003")
        XCTAssertTrue(slots.isComplete)
    }

    func testAnIncompleteOrBrokenTable() throws {
        let partial = try XCTUnwrap(ClusterSlots(reply: .array([range(0, 100, "h", 1)]), seedHost: "s"))
        XCTAssertFalse(partial.isComplete)
        XCTAssertNil(partial.master(of: 101))
        XCTAssertNil(ClusterSlots(reply: .array([range(5, 16384, "h", 1)]), seedHost: "s"))
        XCTAssertNil(ClusterSlots(reply: .error("ERR This instance has cluster support disabled"), seedHost: "s"))
    }

    func testAMoveChangesOneSlot() throws {
        var slots = try XCTUnwrap(ClusterSlots(reply: .array([range(0, 16383, "a", 1)]), seedHost: "s"))
        slots.move(42, to: "b:2")
        XCTAssertEqual(slots.master(of: 42), "b:2")
        XCTAssertEqual(slots.master(of: 43), "a:1")
    }

    func testRedirects() {
        XCTAssertEqual(ClusterRedirect("MOVED 3999 127.0.0.1:6381", from: "a:1"), ClusterRedirect("MOVED 3999 127.0.0.1:6381", from: "a:1"))
        let ask = ClusterRedirect("ASK 12 10.1.1.1:7000", from: "a:1")
        XCTAssertEqual(ask?.ask, true)
        XCTAssertEqual(ask?.slot, 12)
        XCTAssertEqual(ask?.address, "10.1.1.1:7000")
        XCTAssertEqual(ClusterRedirect("MOVED 3999 127.0.0.1:6381", from: "a:1")?.ask, false)
        XCTAssertNil(ClusterRedirect("MOVED 16384 a:1", from: "a:1"))
        XCTAssertNil(ClusterRedirect("ERR unknown command", from: "a:1"))
        XCTAssertEqual(ClusterRedirect("MOVED 7 :6381", from: "10.0.0.2:6379")?.address, "10.0.0.2:6381", "an unknown endpoint is the answering node's host")
    }
}
