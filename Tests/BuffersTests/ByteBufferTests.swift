import TestSupport
import Buffers
import XCTest

/// `ByteBuffer`: whatever is written comes out in order, through compaction and growth.
final class ByteBufferTests: XCTestCase {
    private func contents(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableView) }

    private func bytes(_ range: Range<Int>) -> [UInt8] { range.map { UInt8(truncatingIfNeeded: $0) } }

    func testNewBufferIsEmpty() {
        let buffer = ByteBuffer(capacity: 100)
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertEqual(buffer.readableBytes, 0)
        XCTAssertEqual(buffer.capacity, 100)
        XCTAssertEqual(buffer.writableSpace.count, 100)
        XCTAssertEqual(contents(buffer), [])
    }

    func testCapacityIsAtLeastSixteen() {
        XCTAssertEqual(ByteBuffer(capacity: 0).capacity, 16)
        XCTAssertEqual(ByteBuffer(capacity: 3).capacity, 16)
    }

    func testWriteThenConsume() {
        let buffer = ByteBuffer(capacity: 64)
        buffer.write(bytes(0..<10))
        buffer.write([])
        buffer.write(bytes(10..<20))
        XCTAssertEqual(contents(buffer), bytes(0..<20))
        buffer.consume(7)
        XCTAssertEqual(buffer.readableBytes, 13)
        XCTAssertEqual(contents(buffer), bytes(7..<20))
        buffer.consume(0)
        XCTAssertEqual(contents(buffer), bytes(7..<20))
    }

    func testConsumingEverythingRewindsTheIndices() {
        let buffer = ByteBuffer(capacity: 16)
        buffer.write(bytes(0..<12))
        buffer.consume(12)
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertEqual(buffer.readerIndex, 0)
        XCTAssertEqual(buffer.writerIndex, 0)
        XCTAssertEqual(buffer.writableSpace.count, 16)
    }

    func testCompactionMovesTheUnreadBytesToTheFront() {
        let buffer = ByteBuffer(capacity: 16)
        buffer.write(bytes(0..<12))
        buffer.consume(10)
        let storage = buffer.storage
        buffer.write(bytes(12..<22)) // 10 bytes: only fits once the 10 consumed are reclaimed
        XCTAssertEqual(buffer.capacity, 16, "compacted, not grown")
        XCTAssertEqual(buffer.storage, storage)
        XCTAssertEqual(buffer.readerIndex, 0)
        XCTAssertEqual(contents(buffer), bytes(10..<22))
    }

    func testCompactionWithOverlappingRanges() {
        // The 14 unread bytes move 2 places left: source and destination overlap.
        let buffer = ByteBuffer(capacity: 16)
        buffer.write(bytes(100..<116))
        buffer.consume(2)
        buffer.write(bytes(116..<118))
        XCTAssertEqual(buffer.capacity, 16)
        XCTAssertEqual(contents(buffer), bytes(102..<118))
    }

    func testGrowthPreservesTheContents() {
        let buffer = ByteBuffer(capacity: 16)
        buffer.write(bytes(0..<10))
        buffer.write(bytes(10..<100))
        XCTAssertGreaterThanOrEqual(buffer.capacity, 100)
        XCTAssertEqual(contents(buffer), bytes(0..<100))
        buffer.write(bytes(100..<5000))
        XCTAssertEqual(contents(buffer), bytes(0..<5000))
    }

    func testCompactionThenGrowth() {
        let buffer = ByteBuffer(capacity: 32)
        buffer.write(bytes(0..<30))
        buffer.consume(5)
        buffer.write(bytes(30..<60)) // 25 unread + 30 new > 32
        XCTAssertEqual(buffer.readerIndex, 0)
        XCTAssertGreaterThanOrEqual(buffer.capacity, 55)
        XCTAssertEqual(contents(buffer), bytes(5..<60))
    }

    func testReserveWritable() {
        let buffer = ByteBuffer(capacity: 16)
        buffer.write(bytes(0..<4))
        buffer.reserveWritable(1000)
        XCTAssertGreaterThanOrEqual(buffer.writableSpace.count, 1000)
        XCTAssertEqual(buffer.writableSpace.count, buffer.capacity - buffer.writerIndex)
        XCTAssertEqual(contents(buffer), bytes(0..<4))
        let capacity = buffer.capacity
        buffer.reserveWritable(10)
        XCTAssertEqual(buffer.capacity, capacity, "enough room already")
    }

    func testWritableSpaceAndCommitWritten() {
        let buffer = ByteBuffer(capacity: 16)
        buffer.write(bytes(0..<3))
        buffer.reserveWritable(40)
        let space = buffer.writableSpace
        for index in 0..<40 { space[index] = UInt8(3 + index) }
        // Nothing is readable until committed.
        XCTAssertEqual(buffer.readableBytes, 3)
        buffer.commitWritten(25)
        XCTAssertEqual(contents(buffer), bytes(0..<28))
        XCTAssertEqual(buffer.writableSpace.count, buffer.capacity - 28)
        buffer.commitWritten(0)
        XCTAssertEqual(contents(buffer), bytes(0..<28))
    }

    func testMutableReadableViewWritesThrough() {
        let buffer = ByteBuffer()
        buffer.write([1, 2, 3, 4])
        buffer.consume(1)
        let view = buffer.mutableReadableView
        for index in view.indices { view[index] ^= 0xFF }
        XCTAssertEqual(contents(buffer), [0xFD, 0xFC, 0xFB])
    }

    func testClear() {
        let buffer = ByteBuffer(capacity: 16)
        buffer.write(bytes(0..<10))
        buffer.consume(3)
        buffer.clear()
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertEqual(buffer.writableSpace.count, 16)
        buffer.write([9])
        XCTAssertEqual(contents(buffer), [9])
    }

    /// Random writes (both ways), consumes and clears against an array model.
    func testRandomOperationsMatchAnArrayModel() {
        var rng = SplitMix64(seed: 0xB0FF)
        for trial in 0..<20 {
            let buffer = ByteBuffer(capacity: Int.random(in: 0...64, using: &rng))
            var model: [UInt8] = []
            var next: UInt8 = 0
            func fresh(_ count: Int) -> [UInt8] {
                (0..<count).map { _ in next &+= 1; return next }
            }
            for step in 0..<1000 {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0...3:
                    let chunk = fresh(Int.random(in: 0...Int.random(in: 1...300, using: &rng), using: &rng))
                    buffer.write(chunk)
                    model += chunk
                case 4...5:
                    let chunk = fresh(Int.random(in: 0...100, using: &rng))
                    buffer.reserveWritable(chunk.count)
                    XCTAssertGreaterThanOrEqual(buffer.writableSpace.count, chunk.count)
                    chunk.withUnsafeBytes { buffer.writableSpace.copyMemory(from: $0) }
                    buffer.commitWritten(chunk.count)
                    model += chunk
                case 6...8:
                    let count = Int.random(in: 0...model.count, using: &rng)
                    buffer.consume(count)
                    model.removeFirst(count)
                default:
                    if Int.random(in: 0..<10, using: &rng) == 0 {
                        buffer.clear()
                        model = []
                    }
                }
                XCTAssertEqual(buffer.readableBytes, model.count, "trial \(trial), step \(step)")
                XCTAssertLessThanOrEqual(buffer.writerIndex, buffer.capacity)
                if contents(buffer) != model {
                    XCTFail("trial \(trial), step \(step): contents differ from the model")
                    return
                }
            }
        }
    }
}
