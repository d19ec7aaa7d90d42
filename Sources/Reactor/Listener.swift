import CSystem
import Glibc
import Logging

/// A listening TCP socket on one loop. Every loop has its own (SO_REUSEPORT), so the kernel
/// spreads new connections over the loops and no accept is shared.
public final class Listener: EventHandler {
    public let fd: Int32
    unowned let loop: EventLoop
    let onAccept: (Int32) -> Void
    /// A spare descriptor given up when the process runs out (EMFILE), so the pending connection
    /// can be accepted and closed instead of waking the loop forever.
    private var reserveFD: Int32
    private var paused = false
    private var lastExhaustionLog: UInt64 = 0
    private lazy var resumeTimer = LoopTimer { [unowned self] in self.resume() }
    /// Connections accepted per wake-up, so a connection storm cannot starve the open ones.
    let acceptBudget = 128

    /// Binds `count` listeners on one address (port 0 picks one port for all of them).
    public static func bind(host: String, port: UInt16, backlog: Int32, count: Int) throws -> [Int32] {
        var fds: [Int32] = []
        var port = port
        // SO_REUSEPORT would let these sockets join a group that another process already listens
        // on (the kernel would then split new connections between the two processes): check that
        // the port is free with a socket that does not set it, and fail as a taken port should.
        let probe = csystem_listen_tcp(host, port, backlog, 0)
        guard probe >= 0 else { throw SystemError("listen on \(host):\(port)", errno: -probe) }
        if port == 0 { port = UInt16(csystem_local_port(probe)) }
        Glibc.close(probe)
        for _ in 0..<count {
            let fd = csystem_listen_tcp(host, port, backlog, 1)
            guard fd >= 0 else {
                fds.forEach { Glibc.close($0) }
                throw SystemError("listen on \(host):\(port)", errno: -fd)
            }
            if port == 0 { port = UInt16(csystem_local_port(fd)) }
            fds.append(fd)
        }
        return fds
    }

    public static func localPort(of fd: Int32) -> Int { Int(csystem_local_port(fd)) }

    public init(fd: Int32, loop: EventLoop, onAccept: @escaping (Int32) -> Void) throws {
        self.fd = fd
        self.loop = loop
        self.onAccept = onAccept
        reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try loop.register(fd: fd, handler: self, events: UInt32(EPOLLIN.rawValue))
    }

    deinit {
        if reserveFD >= 0 { Glibc.close(reserveFD) }
    }

    public func handleEvents(_ events: UInt32) {
        for _ in 0..<acceptBudget {
            let result = csystem_accept(fd)
            if result >= 0 {
                onAccept(result)
                continue
            }
            switch -result {
            case EAGAIN, EWOULDBLOCK:
                return
            case EINTR, ECONNABORTED, EPROTO, EPERM:
                continue
            case EMFILE, ENFILE:
                shedOneConnection(errno: -result)
                return
            default:
                // ENOBUFS, ENOMEM and the like: back off instead of spinning on a level-triggered fd.
                loop.logger.error("accept failed; pausing accepts for 100 ms", metadata: ["error": "\(SystemError("accept", errno: -result))"])
                pause()
                return
            }
        }
    }

    private func shedOneConnection(errno: Int32) {
        let now = loop.now
        if now - lastExhaustionLog > 1_000_000_000 {
            lastExhaustionLog = now
            loop.logger.error("out of file descriptors; refusing new connections", metadata: ["error": "\(SystemError("accept", errno: errno))"])
        }
        if reserveFD >= 0 {
            Glibc.close(reserveFD)
            let victim = csystem_accept(fd)
            if victim >= 0 { Glibc.close(victim) }
            reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        if reserveFD < 0 { pause() }
    }

    private func pause() {
        guard !paused else { return }
        paused = true
        loop.modify(fd: fd, events: 0)
        loop.timers.schedule(resumeTimer, after: 100_000_000, now: loop.now)
    }

    private func resume() {
        paused = false
        if reserveFD < 0 { reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC) }
        loop.modify(fd: fd, events: UInt32(EPOLLIN.rawValue))
    }

    /// Stops accepting (graceful drain): the socket is closed, queued connections are refused.
    public func close() {
        loop.unregister(fd: fd)
        Glibc.close(fd)
        loop.timers.cancel(resumeTimer)
    }
}
