import Buffers
import Glibc
@testable import Reactor
import XCTest

/// The outbound queue against a real socketpair with a small send buffer, so partial writes and
/// EAGAIN really happen.
final class OutboundQueueTests: XCTestCase {
    var fds: [Int32] = [-1, -1]
    let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: 64)

    override class func setUp() {
        // As in the server: a write to a closed peer must return EPIPE, not kill the process.
        LoopGroup.prepareProcessSignals()
    }

    override func setUp() {
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds), 0)
        var size: Int32 = 4096
        setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, 4)
        setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &size, 4)
    }

    override func tearDown() {
        close(fds[0])
        close(fds[1])
    }

    private func drainPeer() -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fds[1], &buffer, buffer.count)
            if count <= 0 { break }
            out += buffer[0..<count]
        }
        return out
    }

    func testConsecutiveArenaWritesCoalesceIntoOneChunk() {
        let arena = OutputArena(capacity: 1024)
        var queue = OutboundQueue()
        ([1, 2, 3] as [UInt8]).withUnsafeBytes { queue.append($0, arena: arena) }
        ([4, 5] as [UInt8]).withUnsafeBytes { queue.append($0, arena: arena) }
        XCTAssertEqual(queue.chunks.count, 1)
        XCTAssertEqual(queue.pendingBytes, 5)
        XCTAssertEqual(queue.write(to: fds[0], iovecs: iovecs, maxIovecs: 64), .drained)
        XCTAssertEqual(drainPeer(), [1, 2, 3, 4, 5])
    }

    func testOrderIsKeptAcrossArenaSharedAndSpilledChunks() {
        let arena = OutputArena(capacity: 64 * 1024)
        var queue = OutboundQueue()
        var expected: [UInt8] = []
        for round in 0..<200 {
            let bytes = [UInt8](repeating: UInt8(round & 0xFF), count: 97 + round)
            if round % 3 == 0 {
                bytes.withUnsafeBytes { queue.append(SharedBytes(copying: $0)) }
            } else {
                bytes.withUnsafeBytes { queue.append($0, arena: arena) }
            }
            expected += bytes
        }
        var received: [UInt8] = []
        var result = queue.write(to: fds[0], iovecs: iovecs, maxIovecs: 64)
        XCTAssertEqual(result, .wouldBlock, "the small socket buffer cannot take everything at once")
        queue.spillArena()
        arena.reset()
        // Overwrite the arena as the next turn would: spilled bytes must not change.
        [UInt8](repeating: 0xEE, count: 64 * 1024).withUnsafeBytes { _ = arena.allocate($0.count)?.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        while result != .drained {
            received += drainPeer()
            result = queue.write(to: fds[0], iovecs: iovecs, maxIovecs: 64)
            if case .failed = result { XCTFail("write failed"); return }
        }
        received += drainPeer()
        XCTAssertEqual(received.count, expected.count)
        XCTAssertEqual(received, expected)
        XCTAssertTrue(queue.isEmpty)
    }

    func testArenaFullFallsBackToAnOwnedBuffer() {
        let arena = OutputArena(capacity: 16)
        var queue = OutboundQueue()
        let big = [UInt8](repeating: 7, count: 100)
        big.withUnsafeBytes { queue.append($0, arena: arena) }
        ([1, 2] as [UInt8]).withUnsafeBytes { queue.append($0, arena: arena) }
        XCTAssertEqual(queue.pendingBytes, 102)
        XCTAssertEqual(queue.write(to: fds[0], iovecs: iovecs, maxIovecs: 64), .drained)
        XCTAssertEqual(drainPeer(), big + [1, 2])
    }

    func testMoreChunksThanIovecsAreAllWritten() {
        var queue = OutboundQueue()
        var expected: [UInt8] = []
        for value in 0..<100 {
            [UInt8(value)].withUnsafeBytes { queue.append(SharedBytes(copying: $0)) }
            expected.append(UInt8(value))
        }
        var received: [UInt8] = []
        while queue.write(to: fds[0], iovecs: iovecs, maxIovecs: 8) != .drained { received += drainPeer() }
        received += drainPeer()
        XCTAssertEqual(received, expected)
    }

    func testWriteToAClosedPeerFails() {
        close(fds[1])
        fds[1] = open("/dev/null", O_RDONLY)
        let arena = OutputArena(capacity: 1024)
        var queue = OutboundQueue()
        ([1, 2, 3] as [UInt8]).withUnsafeBytes { queue.append($0, arena: arena) }
        guard case .failed(let error) = queue.write(to: fds[0], iovecs: iovecs, maxIovecs: 64) else {
            return XCTFail("expected EPIPE")
        }
        XCTAssertEqual(error, EPIPE)
    }

    /// A transport that encrypts (TLS) takes gathered bytes through a sink: a sink that takes a
    /// few bytes at a time, waits, and is retried must see every byte once, in order, and find
    /// the bytes it did not take first again when retried (OpenSSL requires that of a retry).
    func testWriteThroughASinkGathersRetriesAndKeepsOrder() {
        let arena = OutputArena(capacity: 64 * 1024)
        var queue = OutboundQueue()
        var expected: [UInt8] = []
        for round in 0..<50 {
            let bytes = [UInt8](repeating: UInt8(round), count: 37 + round * 11)
            if round % 2 == 0 {
                bytes.withUnsafeBytes { queue.append(SharedBytes(copying: $0)) }
            } else {
                bytes.withUnsafeBytes { queue.append($0, arena: arena) }
            }
            expected += bytes
        }
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 1000, alignment: 8)
        defer { staging.deallocate() }
        var taken: [UInt8] = []
        var offered: [UInt8] = []
        var calls = 0
        var result = OutboundQueue.WriteResult.wouldBlock
        while result != .drained {
            result = queue.write(through: { bytes in
                calls += 1
                XCTAssertLessThanOrEqual(bytes.count, 1000)
                if !offered.isEmpty {
                    // A retry: the bytes refused last time come first again.
                    XCTAssertEqual(Array(bytes.prefix(offered.count)), offered)
                    offered = []
                }
                if calls % 3 == 0 {
                    offered = Array(bytes)
                    return 0
                }
                let count = min(bytes.count, 333)
                taken += bytes.prefix(count)
                return count
            }, staging: staging)
            if result == .wouldBlock {
                queue.spillArena()
                arena.reset()
            }
        }
        XCTAssertEqual(taken, expected)
        XCTAssertTrue(queue.isEmpty)
    }

    func testASinkFailureFailsTheWrite() {
        let arena = OutputArena(capacity: 1024)
        var queue = OutboundQueue()
        ([1, 2, 3] as [UInt8]).withUnsafeBytes { queue.append($0, arena: arena) }
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { staging.deallocate() }
        XCTAssertEqual(queue.write(through: { _ in nil }, staging: staging), .failed(EIO))
        XCTAssertEqual(queue.pendingBytes, 3)
    }
}
