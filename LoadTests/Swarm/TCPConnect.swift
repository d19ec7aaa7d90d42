import CSystem
import Glibc
import Reactor

/// Opens non-blocking TCP connections for the loop to complete: the connection is ready when the
/// socket turns writable and `pendingError` is 0.
enum TCPConnect {
    static func start(to endpoint: Endpoint, from source: UInt32?) throws(SystemError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let source {
            // Without this, bind picks the port at once and needs it free for every destination,
            // which caps a source address at ~28k connections in all; with it the port is picked at
            // connect time for this destination only.
            setsockopt(fd, Int32(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, &one, socklen_t(MemoryLayout<Int32>.size))
            var local = IPv4.socketAddress(source, port: 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let error = SystemError("bind to \(IPv4.format(source))")
                close(fd)
                throw error
            }
        }
        var remote = endpoint.address
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0, csystem_errno() != EINPROGRESS {
            let error = SystemError("connect to \(endpoint.authority)")
            close(fd)
            throw error
        }
        return fd
    }

    /// The outcome of a connect that was in progress (SO_ERROR): 0 when it succeeded.
    static func pendingError(_ fd: Int32) -> Int32 {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return csystem_errno() }
        return error
    }
}
