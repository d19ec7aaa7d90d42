import Buffers
import XCTest

/// `SharedBytes`: immutable bytes, filled once.
final class SharedBytesTests: XCTestCase {
    func testFillWritesTheBytes() {
        let shared = SharedBytes(count: 5) { target in
            for index in target.indices { target[index] = UInt8(index * 2) }
        }
        XCTAssertEqual(shared.count, 5)
        XCTAssertEqual(Array(shared.bytes), [0, 2, 4, 6, 8])
    }

    func testCopyingIsIndependentOfTheSource() {
        var source: [UInt8] = Array(0..<200).map(UInt8.init)
        let shared = source.withUnsafeBytes { SharedBytes(copying: $0) }
        source[0] = 0xFF
        XCTAssertEqual(Array(shared.bytes), Array(0..<200).map(UInt8.init))
    }

    func testEmpty() {
        let shared = [UInt8]().withUnsafeBytes { SharedBytes(copying: $0) }
        XCTAssertEqual(shared.count, 0)
        XCTAssertEqual(Array(shared.bytes), [])
    }
}
