/// Something registered with a loop for readiness events on one file descriptor.
public protocol EventHandler: AnyObject {
    /// `events` is the epoll mask that fired (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ...).
    func handleEvents(_ events: UInt32)
}

/// Something with output that the loop writes out at the end of the turn (corking).
public protocol Flushable: AnyObject {
    func flush()
}
