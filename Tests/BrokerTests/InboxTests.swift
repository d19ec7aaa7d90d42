@testable import Broker
import XCTest

/// The inbox shard on its own: bounds, leases, acknowledgements.
final class InboxTests: XCTestCase {
    func message(_ offset: UInt64, bytes: Int = 4) -> InboxMessage {
        InboxMessage(channel: "c:1", offset: offset, epoch: "e", user: "u", data: Array(repeating: 0x31, count: bytes), time: 0)
    }

    func testRefusesWhatDoesNotFitInEntriesOrBytes() {
        let inbox = Inbox(maxEntries: 2, maxBytes: 10)
        XCTAssertTrue(inbox.hasRoom(for: 4))
        inbox.append(message(1))
        XCTAssertFalse(inbox.hasRoom(for: 7), "4 + 7 bytes is over 10")
        XCTAssertTrue(inbox.hasRoom(for: 6))
        inbox.append(message(2, bytes: 6))
        XCTAssertFalse(inbox.hasRoom(for: 0), "two entries is the most")
        XCTAssertEqual(inbox.acknowledge([1]), 1)
        XCTAssertTrue(inbox.hasRoom(for: 4), "an acknowledgement frees its room")
    }

    func testALeasedEntryIsNotReadAgainUntilItsLeaseEnds() {
        let inbox = Inbox(maxEntries: 10, maxBytes: 1000)
        for offset in 1...3 { inbox.append(message(UInt64(offset))) }
        XCTAssertEqual(inbox.lease(limit: 2, now: 0, lease: 30).map(\.message.offset), [1, 2])
        XCTAssertEqual(inbox.lease(limit: 2, now: 1, lease: 30).map(\.message.offset), [3], "1 and 2 are held")
        XCTAssertEqual(inbox.lease(limit: 5, now: 29, lease: 30).map(\.message.offset), [])
        XCTAssertEqual(inbox.lease(limit: 5, now: 30, lease: 30).map(\.message.offset), [1, 2], "their lease ran out")
    }

    func testReleasedEntriesAreOfferedAgainAtOnce() {
        let inbox = Inbox(maxEntries: 10, maxBytes: 1000)
        for offset in 1...2 { inbox.append(message(UInt64(offset))) }
        let leased = inbox.lease(limit: 2, now: 0, lease: 30)
        inbox.release([leased[1].sequence])
        XCTAssertEqual(inbox.lease(limit: 2, now: 1, lease: 30).map(\.message.offset), [2])
    }

    func testAcknowledgedEntriesAreGoneInAnyOrder() {
        let inbox = Inbox(maxEntries: 1000, maxBytes: 100_000)
        let sequences = (1...200).map { inbox.append(message(UInt64($0))) }
        XCTAssertEqual(inbox.acknowledge(Array(sequences[100...])), 100, "the newer half first: tombstones")
        XCTAssertEqual(inbox.acknowledge([sequences[150]]), 0, "twice counts once")
        XCTAssertEqual(inbox.count, 100)
        XCTAssertEqual(inbox.lease(limit: 1000, now: 0, lease: 1).map(\.message.offset), (1...100).map(UInt64.init))
        XCTAssertEqual(inbox.acknowledge(Array(sequences[..<100])), 100)
        XCTAssertEqual(inbox.count, 0)
        XCTAssertEqual(inbox.bytes, 0)
        XCTAssertEqual(inbox.acknowledge([9999, 0]), 0, "unknown sequences are ignored")
        let next = inbox.append(message(201))
        XCTAssertEqual(inbox.lease(limit: 10, now: 0, lease: 1).map(\.sequence), [next])
    }

    /// The oldest entry is never acknowledged (a message the API cannot store) while thousands
    /// after it are: the tombstones are swept, and the rest stays addressable by sequence.
    func testAnUnacknowledgedOldEntryDoesNotPinTheTombstones() {
        let inbox = Inbox(maxEntries: 100_000, maxBytes: 10_000_000)
        let stuck = inbox.append(message(0))
        var last: UInt64 = 0
        for round in 0..<50 {
            let batch = (0..<100).map { inbox.append(message(UInt64(round * 100 + $0 + 1))) }
            XCTAssertEqual(inbox.acknowledge(Array(batch.dropLast())), 99)
            last = batch.last!
        }
        XCTAssertEqual(inbox.count, 51)
        XCTAssertLessThan(inbox.storedEntries, 300, "tombstones were swept")
        XCTAssertEqual(inbox.acknowledge([last]), 1, "found by sequence after the sweep")
        XCTAssertEqual(inbox.lease(limit: 1, now: 0, lease: 1).map(\.sequence), [stuck])
    }
}
