import CSystem
import Glibc
import Logging
@testable import Reactor
import Synchronization
import XCTest

final class EventLoopTests: XCTestCase {
    override class func setUp() {
        LoopGroup.prepareProcessSignals()
    }

    /// Tasks sent from another thread run on the loop, in order, and `stop()` ends `run()`.
    func testTasksFromOtherThreadsRunOnTheLoopInOrder() throws {
        let group = LoopGroup(count: 2, logger: Logger(label: "test"))
        let seen = Locked<[Int]>([])
        let handles = try group.start { _ in }
        XCTAssertEqual(handles.count, 2)
        for value in 0..<1000 {
            handles[1].execute { loop in
                XCTAssertEqual(loop.index, 1)
                seen.withLock { $0.append(value) }
            }
        }
        let deadline = Clock.now() + 5_000_000_000
        while seen.withLock({ $0.count }) < 1000, Clock.now() < deadline { usleep(1000) }
        XCTAssertEqual(seen.withLock { $0 }, Array(0..<1000))
        group.stopAll()
        group.waitUntilStopped()
    }

    /// A loop reports readiness on a registered fd and delivers nothing after unregister.
    func testReadinessAndUnregister() throws {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let loop = try EventLoop(index: 0, logger: Logger(label: "test"))
        final class Reader: EventHandler {
            var events = 0
            let fd: Int32
            unowned let loop: EventLoop
            init(fd: Int32, loop: EventLoop) { self.fd = fd; self.loop = loop }
            func handleEvents(_ mask: UInt32) {
                events += 1
                var byte: UInt8 = 0
                _ = read(fd, &byte, 1)
                loop.unregister(fd: fd)
                loop.stop()
            }
        }
        let reader = Reader(fd: fds[0], loop: loop)
        try loop.register(fd: fds[0], handler: reader, events: UInt32(EPOLLIN.rawValue))
        var byte: UInt8 = 1
        XCTAssertEqual(write(fds[1], &byte, 1), 1)
        loop.run()
        XCTAssertEqual(reader.events, 1)
        XCTAssertEqual(write(fds[1], &byte, 1), 1)
        loop.handle.stop()
        loop.run()
        XCTAssertEqual(reader.events, 1, "no events after unregister")
    }

    /// Timers fire from `run()` and a flush scheduled during a turn runs at its end.
    func testTimersAndEndOfTurnFlush() throws {
        let loop = try EventLoop(index: 0, logger: Logger(label: "test"))
        final class Probe: Flushable {
            var flushed = 0
            func flush() { flushed += 1 }
        }
        let probe = Probe()
        let start = Clock.now()
        let timer = LoopTimer {
            loop.scheduleFlush(probe)
            loop.atEndOfTurn { loop.stop() }
        }
        loop.timers.schedule(timer, after: 50_000_000, now: start)
        loop.run()
        XCTAssertGreaterThanOrEqual(Clock.now() - start, 50_000_000)
        XCTAssertEqual(probe.flushed, 1)
    }
}
