@testable import Reactor
import XCTest

final class TimerWheelTests: XCTestCase {
    let tick: UInt64 = 10_000_000

    func testFiresAtDeadlineNotBefore() {
        let wheel = TimerWheel(tickNanoseconds: tick, slotCount: 64, now: 0)
        var fired = 0
        let timer = LoopTimer { fired += 1 }
        wheel.schedule(timer, after: 35_000_000, now: 0)
        wheel.advance(to: 30_000_000)
        XCTAssertEqual(fired, 0)
        wheel.advance(to: 40_000_000)
        XCTAssertEqual(fired, 1)
        XCTAssertFalse(timer.isScheduled)
        wheel.advance(to: 1_000_000_000)
        XCTAssertEqual(fired, 1, "a timer fires once")
    }

    func testCancelledTimerDoesNotFire() {
        let wheel = TimerWheel(tickNanoseconds: tick, slotCount: 64, now: 0)
        var fired = false
        let timer = LoopTimer { fired = true }
        wheel.schedule(timer, after: tick, now: 0)
        wheel.cancel(timer)
        XCTAssertEqual(wheel.count, 0)
        wheel.advance(to: 100 * tick)
        XCTAssertFalse(fired)
    }

    func testRearmingMovesTheDeadline() {
        let wheel = TimerWheel(tickNanoseconds: tick, slotCount: 64, now: 0)
        var fired = 0
        let timer = LoopTimer { fired += 1 }
        wheel.schedule(timer, after: 2 * tick, now: 0)
        wheel.schedule(timer, after: 10 * tick, now: 0)
        XCTAssertEqual(wheel.count, 1)
        wheel.advance(to: 5 * tick)
        XCTAssertEqual(fired, 0)
        wheel.advance(to: 10 * tick)
        XCTAssertEqual(fired, 1)
    }

    func testDelaysLongerThanOneRotation() {
        let wheel = TimerWheel(tickNanoseconds: tick, slotCount: 16, now: 0)
        var fired = false
        let timer = LoopTimer { fired = true }
        wheel.schedule(timer, after: 100 * tick, now: 0)
        for step in 1..<100 {
            wheel.advance(to: UInt64(step) * tick)
            XCTAssertFalse(fired, "fired early at tick \(step)")
        }
        wheel.advance(to: 100 * tick)
        XCTAssertTrue(fired)
    }

    func testLongStallFiresEverythingDue() {
        let wheel = TimerWheel(tickNanoseconds: tick, slotCount: 16, now: 0)
        var fired = 0
        let timers = (1...50).map { _ in LoopTimer { fired += 1 } }
        for (index, timer) in timers.enumerated() { wheel.schedule(timer, after: UInt64(index + 1) * tick, now: 0) }
        wheel.advance(to: 1000 * tick)
        XCTAssertEqual(fired, 50)
        XCTAssertEqual(wheel.count, 0)
    }

    func testActionMayCancelAnotherDueTimer() {
        let wheel = TimerWheel(tickNanoseconds: tick, slotCount: 64, now: 0)
        var log: [String] = []
        var second: LoopTimer!
        let first = LoopTimer { log.append("first"); wheel.cancel(second) }
        second = LoopTimer { log.append("second") }
        wheel.schedule(first, after: tick, now: 0)
        wheel.schedule(second, after: tick, now: 0)
        wheel.advance(to: 2 * tick)
        XCTAssertEqual(log.count, 1, "one of the two fired and cancelled the other: \(log)")
    }

    func testActionMayRearmItself() {
        let wheel = TimerWheel(tickNanoseconds: tick, slotCount: 64, now: 0)
        var fired = 0
        var timer: LoopTimer!
        timer = LoopTimer {
            fired += 1
            if fired < 3 { wheel.schedule(timer, after: 5 * self.tick, now: UInt64(fired) * 5 * self.tick) }
        }
        wheel.schedule(timer, after: 5 * tick, now: 0)
        for step in 1...30 { wheel.advance(to: UInt64(step) * tick) }
        XCTAssertEqual(fired, 3)
    }

    func testHundredThousandTimers() {
        let wheel = TimerWheel(tickNanoseconds: tick, slotCount: 1024, now: 0)
        var fired = 0
        let timers = (0..<100_000).map { _ in LoopTimer { fired += 1 } }
        for (index, timer) in timers.enumerated() { wheel.schedule(timer, after: UInt64(index % 3000 + 1) * tick, now: 0) }
        for index in stride(from: 0, to: 100_000, by: 2) { wheel.cancel(timers[index]) }
        XCTAssertEqual(wheel.count, 50_000)
        for step in 1...3001 { wheel.advance(to: UInt64(step) * tick) }
        XCTAssertEqual(fired, 50_000)
        XCTAssertEqual(wheel.count, 0)
    }

    func testPollTimeout() {
        let wheel = TimerWheel(tickNanoseconds: tick, slotCount: 64, now: 0)
        XCTAssertEqual(wheel.pollTimeout(now: 0), -1, "nothing armed: sleep until I/O")
        wheel.schedule(LoopTimer {}, after: tick, now: 0)
        XCTAssertEqual(wheel.pollTimeout(now: 3_000_000), 7)
    }
}
