import Buffers
import CSystem
import Glibc
import Logging

/// One epoll loop on one thread. It owns its sockets, timers and buffers; nothing in it is touched
/// by another thread except through `handle` (a task queue woken by an eventfd).
///
/// Level-triggered epoll: a handler may leave data unread (a read budget per turn, a paused
/// connection under backpressure) and is told again on the next turn, so one busy connection
/// cannot starve the others and no "ready" list must be kept by hand.
public final class EventLoop {
    public let index: Int
    public let logger: Logger
    public let timers: TimerWheel
    public let handle: LoopHandle
    /// Scratch for reads: every connection of this loop reads into it, so an idle connection
    /// holds no read buffer.
    public let readBuffer: UnsafeMutableRawBufferPointer
    /// Output written during this turn and flushed at its end (see OutboundQueue).
    public let arena: OutputArena
    /// The application state that lives on this loop (kept alive by the loop).
    public var context: AnyObject?
    /// The time at the start of this turn's dispatch, for cheap activity stamps.
    public private(set) var now: UInt64

    private let epollFD: Int32
    private var registrations: [Registration] = []
    private var events: UnsafeMutablePointer<epoll_event>
    private let maxEvents = 1024
    private var flushList: [Flushable] = []
    /// The list being flushed, swapped with `flushList` so neither is copied or reallocated.
    private var flushing: [Flushable] = []
    private var endOfTurn: [() -> Void] = []
    private var running = false
    var iovecs: UnsafeMutablePointer<iovec>
    static let maxIovecs = 512

    private struct Registration {
        var handler: EventHandler?
        var generation: UInt32 = 0
    }

    public init(index: Int, logger: Logger, readBufferSize: Int = 256 * 1024, arenaSize: Int = 512 * 1024) throws {
        self.index = index
        var logger = logger
        logger[metadataKey: "loop"] = "\(index)"
        self.logger = logger
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw SystemError("epoll_create1") }
        let queue = try TaskQueue()
        handle = LoopHandle(index: index, queue: queue)
        now = Clock.now()
        timers = TimerWheel(now: now)
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 64)
        arena = OutputArena(capacity: arenaSize)
        events = .allocate(capacity: maxEvents)
        iovecs = .allocate(capacity: Self.maxIovecs)
        staging = .allocate(byteCount: 16 * 1024, alignment: 64)
        try register(fd: queue.eventFD, handler: TaskQueueHandler(queue: queue, loop: self), events: UInt32(EPOLLIN.rawValue))
    }

    deinit {
        close(epollFD)
        readBuffer.deallocate()
        events.deallocate()
        iovecs.deallocate()
        staging.deallocate()
    }

    public func register(fd: Int32, handler: EventHandler, events mask: UInt32) throws {
        if Int(fd) >= registrations.count {
            registrations.append(contentsOf: repeatElement(Registration(), count: Int(fd) + 1 - registrations.count + 64))
        }
        registrations[Int(fd)].generation &+= 1
        registrations[Int(fd)].handler = handler
        var event = epoll_event()
        event.events = mask
        event.data.u64 = UInt64(registrations[Int(fd)].generation) << 32 | UInt64(UInt32(bitPattern: fd))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
            registrations[Int(fd)].handler = nil
            throw SystemError("epoll_ctl(ADD)")
        }
    }

    public func modify(fd: Int32, events mask: UInt32) {
        var event = epoll_event()
        event.events = mask
        event.data.u64 = UInt64(registrations[Int(fd)].generation) << 32 | UInt64(UInt32(bitPattern: fd))
        if epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event) != 0 {
            logger.warning("epoll_ctl(MOD) failed", metadata: ["error": "\(SystemError("epoll_ctl"))"])
        }
    }

    /// Removes `fd` from the loop; events already fetched for it in this turn are dropped.
    public func unregister(fd: Int32) {
        guard Int(fd) < registrations.count, registrations[Int(fd)].handler != nil else { return }
        registrations[Int(fd)].handler = nil
        registrations[Int(fd)].generation &+= 1
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    /// Asks for `flushable.flush()` at the end of this turn. The caller keeps a flag so it is
    /// listed once.
    public func scheduleFlush(_ flushable: Flushable) { flushList.append(flushable) }

    /// Runs `work` once at the end of this turn, after dispatch and timers, before the flush.
    public func atEndOfTurn(_ work: @escaping () -> Void) { endOfTurn.append(work) }

    /// Runs until `stop()`; returns on the loop's own thread.
    public func run() {
        running = true
        while running && !handle.queue.stopRequested.load(ordering: .acquiring) {
            let timeout = flushList.isEmpty && endOfTurn.isEmpty ? timers.pollTimeout(now: Clock.now()) : 0
            let count = epoll_wait(epollFD, events, Int32(maxEvents), timeout)
            if count < 0 {
                let error = csystem_errno()
                if error == EINTR { continue }
                logger.critical("epoll_wait failed", metadata: ["error": "\(SystemError("epoll_wait", errno: error))"])
                return
            }
            now = Clock.now()
            for i in 0..<Int(count) {
                let data = events[i].data.u64
                let fd = Int(UInt32(truncatingIfNeeded: data))
                guard fd < registrations.count, registrations[fd].generation == UInt32(data >> 32),
                      let handler = registrations[fd].handler else { continue }
                handler.handleEvents(events[i].events)
            }
            timers.advance(to: Clock.now())
            finishTurn()
        }
    }

    private func finishTurn() {
        while !endOfTurn.isEmpty {
            let work = endOfTurn
            endOfTurn.removeAll(keepingCapacity: true)
            for item in work { item() }
        }
        // A flush may schedule more work (a close after the last bytes): loop until quiet.
        while !flushList.isEmpty {
            swap(&flushList, &flushing)
            for flushable in flushing { flushable.flush() }
            flushing.removeAll(keepingCapacity: true)
        }
        arena.reset()
    }

    /// Writes as much of `queue` as `sink` takes (see OutboundQueue.write(through:)), gathering
    /// it into this loop's staging buffer; what is left is moved out of this turn's arena.
    public func write(_ queue: inout OutboundQueue, through sink: (UnsafeRawBufferPointer) -> Int?) -> OutboundQueue.WriteResult {
        let result = queue.write(through: sink, staging: staging)
        if result == .wouldBlock { queue.spillArena() }
        return result
    }

    /// For `write(_:through:)`: 16 KiB, one full TLS record, so a turn's small frames to one
    /// connection leave in full records rather than one record each. OpenSSL in partial-write
    /// mode takes one record per call: a larger buffer would only be gathered again.
    private let staging: UnsafeMutableRawBufferPointer

    /// Writes as much of `queue` as the socket takes. What is left is moved out of this turn's
    /// arena, so the caller only has to wait for EPOLLOUT.
    public func write(_ queue: inout OutboundQueue, to fd: Int32) -> OutboundQueue.WriteResult {
        let result = queue.write(to: fd, iovecs: iovecs, maxIovecs: Self.maxIovecs)
        if result == .wouldBlock { queue.spillArena() }
        return result
    }

    /// Stops after the current turn. Call on the loop's thread; from elsewhere use `handle`.
    public func stop() { running = false }
}

/// What other threads may hold of a loop: its index and its task queue.
public struct LoopHandle: Sendable {
    public let index: Int
    let queue: TaskQueue

    /// Runs `task` on the loop's thread, soon.
    public func execute(_ task: @escaping @Sendable (EventLoop) -> Void) { queue.enqueue(task) }

    /// Makes `run()` return after the turn in progress.
    public func stop() {
        queue.stopRequested.store(true, ordering: .releasing)
        queue.wake()
    }
}

private final class TaskQueueHandler: EventHandler {
    let queue: TaskQueue
    unowned let loop: EventLoop
    init(queue: TaskQueue, loop: EventLoop) {
        self.queue = queue
        self.loop = loop
    }
    func handleEvents(_ events: UInt32) { queue.drain(on: loop) }
}
