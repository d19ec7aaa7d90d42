import CSystem
import Glibc

/// SIGINT, SIGTERM and SIGHUP delivered through a signalfd on one loop, as ordinary events.
/// `LoopGroup` blocks these signals in every thread so that only the signalfd sees them.
public final class SignalWatcher: EventHandler {
    public enum Signal: Sendable { case interrupt, terminate, hangup }

    let fd: Int32
    unowned let loop: EventLoop
    let onSignal: (Signal) -> Void

    public init(loop: EventLoop, onSignal: @escaping (Signal) -> Void) throws {
        fd = csystem_signalfd()
        guard fd >= 0 else { throw SystemError("signalfd") }
        self.loop = loop
        self.onSignal = onSignal
        try loop.register(fd: fd, handler: self, events: UInt32(EPOLLIN.rawValue))
    }

    deinit { close(fd) }

    public func handleEvents(_ events: UInt32) {
        var info = signalfd_siginfo()
        while read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            switch Int32(info.ssi_signo) {
            case SIGINT: onSignal(.interrupt)
            case SIGTERM: onSignal(.terminate)
            case SIGHUP: onSignal(.hangup)
            default: break
            }
        }
    }
}
