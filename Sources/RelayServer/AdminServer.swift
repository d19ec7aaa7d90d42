import Glibc
import Logging
import Reactor
import WebSocket

/// The admin listener: plain HTTP for the server API, health, readiness and metrics, on one loop
/// (loop 0). Requests are rare and come from the API's own servers; the work they start runs on
/// every loop through the loops' task queues.
public final class AdminServer {
    unowned let loop: EventLoop
    private var listener: Listener?
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    let handler: HTTPConnection.Handler
    let timeout: UInt64

    public init(loop: EventLoop, listenFD: Int32, timeout: Double = 10, handler: @escaping HTTPConnection.Handler) throws {
        self.loop = loop
        self.handler = handler
        self.timeout = Clock.nanoseconds(seconds: timeout)
        listener = try Listener(fd: listenFD, loop: loop) { [unowned self] fd in self.accept(fd) }
    }

    private func accept(_ fd: Int32) {
        do {
            let connection = try HTTPConnection(fd: fd, loop: loop, limits: .init(), maxBodyBytes: 1 << 20,
                                                timeout: timeout, handler: handler)
            connection.onClose = { [unowned self] closed in connections[ObjectIdentifier(closed)] = nil }
            connections[ObjectIdentifier(connection)] = connection
        } catch {
            loop.logger.error("admin: cannot register a connection", metadata: ["error": "\(error)"])
            _ = Glibc.close(fd)
        }
    }

    public func close() {
        listener?.close()
        listener = nil
        for connection in connections.values { connection.close() }
    }
}
