import CSystem
import Glibc
import Synchronization

/// The only way into a loop from another thread: a queue of closures and an eventfd that wakes
/// the loop. Used for control (stop, reload, cross-loop fan-out), never per message per connection.
public final class TaskQueue: Sendable {
    private let pending = Mutex<[@Sendable (EventLoop) -> Void]>([])
    let stopRequested = Atomic<Bool>(false)
    let eventFD: Int32

    init() throws {
        eventFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard eventFD >= 0 else { throw SystemError("eventfd") }
    }

    deinit { close(eventFD) }

    public func enqueue(_ task: @escaping @Sendable (EventLoop) -> Void) {
        let wasEmpty = pending.withLock { queue in
            queue.append(task)
            return queue.count == 1
        }
        if wasEmpty { wake() }
    }

    func wake() {
        var one: UInt64 = 1
        // EAGAIN means the counter is saturated: the loop is already due to wake.
        _ = write(eventFD, &one, 8)
    }

    /// Runs on the owning loop when the eventfd is readable.
    func drain(on loop: EventLoop) {
        var value: UInt64 = 0
        _ = read(eventFD, &value, 8)
        let tasks = pending.withLock { queue -> [@Sendable (EventLoop) -> Void] in
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
        for task in tasks { task(loop) }
    }
}
