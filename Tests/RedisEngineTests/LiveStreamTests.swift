import Broker
import Buffers
@testable import RedisEngine
import XCTest

/// The merge of a new subscriber's recovery (read on the command connection) with the live
/// stream (on the pub/sub connection), whichever arrives first.
final class LiveStreamTests: XCTestCase {
    private func publication(_ offset: UInt64) -> Publication {
        let bytes = Array("p\(offset)".utf8)
        let frame = bytes.withUnsafeBytes { SharedBytes(copying: $0) }
        return Publication(offset: offset, frame: frame, body: 0..<frame.count)
    }

    private func read(top: UInt64, epoch: String = "e", since: UInt64? = nil) -> SubscribeResult {
        let publications = since.map { ($0 + 1 ..< top + 1).map(publication) } ?? []
        return SubscribeResult(position: StreamPosition(offset: top, epoch: epoch), recovered: since != nil, publications: publications)
    }

    private func finish(_ stream: LiveStream, _ read: SubscribeResult) -> SubscribeResult? {
        var result: SubscribeResult?
        stream.finishRead(read) { result = $0 }
        return result
    }

    func testTheFirstReadStartsTheLiveStreamAfterItsSnapshot() {
        let stream = LiveStream()
        stream.startRead()
        let result = finish(stream, read(top: 5, since: 2))
        XCTAssertEqual(result?.publications.map(\.offset), [3, 4, 5])
        XCTAssertEqual(result?.position.offset, 5)
        // Published before the read ran, arriving live after it: already recovered.
        XCTAssertFalse(stream.admit(publication(5), epoch: "e"))
        XCTAssertTrue(stream.admit(publication(6), epoch: "e"))
    }

    func testLiveAheadOfTheReadIsAddedToTheRecovery() {
        let stream = LiveStream()
        XCTAssertTrue(stream.admit(publication(3), epoch: "e"))
        stream.startRead()
        XCTAssertTrue(stream.admit(publication(4), epoch: "e"))
        XCTAssertTrue(stream.admit(publication(5), epoch: "e"))
        // The read ran between 3 and 4: 4 and 5 reached the loop before its answer.
        let result = finish(stream, read(top: 3, since: 1))
        XCTAssertEqual(result?.publications.map(\.offset), [2, 3, 4, 5])
        XCTAssertEqual(result?.position.offset, 5)
    }

    func testAReadAheadOfTheLiveStreamWaitsForIt() {
        let stream = LiveStream()
        XCTAssertTrue(stream.admit(publication(3), epoch: "e"))
        stream.startRead()
        var result: SubscribeResult?
        stream.finishRead(read(top: 5, since: 1)) { result = $0 }
        XCTAssertNil(result, "4 and 5 are still on their way: given now, the subscriber would get them twice")
        XCTAssertTrue(stream.admit(publication(4), epoch: "e"))
        stream.settle()
        XCTAssertNil(result)
        XCTAssertTrue(stream.admit(publication(5), epoch: "e"))
        XCTAssertNil(result, "5 goes to the local subscribers first; this one would get it twice")
        stream.settle()
        XCTAssertEqual(result?.publications.map(\.offset), [2, 3, 4, 5])
        XCTAssertEqual(result?.position.offset, 5)
    }

    func testRepeatsAreDroppedAndANewEpochRestarts() {
        let stream = LiveStream()
        XCTAssertTrue(stream.admit(publication(1), epoch: "e"))
        XCTAssertTrue(stream.admit(publication(2), epoch: "e"))
        XCTAssertFalse(stream.admit(publication(2), epoch: "e"))
        XCTAssertTrue(stream.admit(publication(1), epoch: "f"))
        XCTAssertEqual(stream.epoch, "f")
    }

    func testWithoutSinceNothingIsRecoveredButThePositionIsCurrent() {
        let stream = LiveStream()
        XCTAssertTrue(stream.admit(publication(8), epoch: "e"))
        stream.startRead()
        XCTAssertTrue(stream.admit(publication(9), epoch: "e"))
        let result = finish(stream, read(top: 8))
        XCTAssertEqual(result?.publications.count, 0)
        XCTAssertEqual(result?.recovered, false)
        XCTAssertEqual(result?.position.offset, 9)
    }

    func testAnInterruptionReleasesParkedReadsAndMarksAGap() {
        let stream = LiveStream()
        XCTAssertTrue(stream.admit(publication(1), epoch: "e"))
        stream.startRead()
        var result: SubscribeResult?
        stream.finishRead(read(top: 3, since: 0)) { result = $0 }
        XCTAssertNil(result)
        for release in stream.interrupt() { release() }
        XCTAssertEqual(result?.publications.map(\.offset), [1, 2, 3])
        XCTAssertTrue(stream.gap)
    }
}
