import Glibc
import Logging
import Reactor
@testable import RelayServer
import WebSocket
import XCTest

/// A LoopServer on a loop run by the test thread, with applications that misbehave in the ways
/// the connection state machine must survive, and raw blocking clients on other threads.
final class ApplicationCallbackTests: XCTestCase {
    override class func setUp() { LoopGroup.prepareProcessSignals() }

    /// Counts callbacks and, depending on `mode`, calls back into the connection from them.
    final class ProbeApplication: WebSocketApplication {
        enum Mode { case reenterOnClose, closeThenAbortOnMessage, flood(Int) }
        let mode: Mode
        var opened = 0
        var closed = 0
        var onAllClosed: (() -> Void)?
        var expected = 1

        init(mode: Mode) { self.mode = mode }

        func negotiate(_ request: UpgradeRequest) -> Result<String?, HandshakeRejection> { .success(nil) }

        func connectionOpened(_ connection: Connection, request: UpgradeRequest) {
            opened += 1
            if case .flood(let bytes) = mode {
                let chunk = [UInt8](repeating: 0x61, count: 65536)
                for _ in 0..<(bytes / chunk.count) { chunk.withUnsafeBytes { connection.send(.binary, payload: $0) } }
            }
        }

        func connection(_ connection: Connection, received opcode: Opcode, payload: UnsafeRawBufferPointer) {
            if case .closeThenAbortOnMessage = mode {
                connection.close(.normal)
                connection.abort()
                connection.send(.text, payload: payload)
            }
        }

        func connectionClosed(_ connection: Connection) {
            closed += 1
            if case .reenterOnClose = mode {
                connection.close(.goingAway)
                connection.abort()
                connection.send(.text, payload: UnsafeRawBufferPointer(start: nil, count: 0))
            }
            if closed == expected { onAllClosed?() }
        }
    }

    private func runServer(_ app: ProbeApplication, config: ServerConfig = ServerConfig(),
                           client: @escaping @Sendable (Int, LoopHandle) -> Void) throws -> LoopServer {
        let loop = try EventLoop(index: 0, logger: Logger(label: "test"))
        let fd = try Listener.bind(host: "127.0.0.1", port: 0, backlog: 16, count: 1)[0]
        let port = Listener.localPort(of: fd)
        var config = config
        config.loops = 1
        let server = try LoopServer(loop: loop, config: config, listenFD: fd, application: app)
        try server.startAccepting()
        app.onAllClosed = { loop.atEndOfTurn { loop.stop() } }
        let guardTimer = LoopTimer { XCTFail("timed out"); loop.stop() }
        loop.timers.schedule(guardTimer, after: 10_000_000_000, now: Clock.now())
        let handle = loop.handle
        let thread = Thread { client(port, handle) }
        thread.start()
        loop.run()
        return server
    }

    func testCallingBackIntoAClosingConnectionIsHarmless() throws {
        let app = ProbeApplication(mode: .reenterOnClose)
        let server = try runServer(app) { port, _ in
            let client = RawClient(port: port)
            client.send(FrameWriter.frame(.close, payload: FrameWriter.closePayload(.normal), maskKey: 0x1234_5678))
            client.readUntilClosed()
        }
        XCTAssertEqual(app.opened, 1)
        XCTAssertEqual(app.closed, 1, "connectionClosed exactly once")
        XCTAssertEqual(server.connectionCount, 0)
    }

    func testAbortFromTheMessageCallback() throws {
        let app = ProbeApplication(mode: .closeThenAbortOnMessage)
        let server = try runServer(app) { port, _ in
            let client = RawClient(port: port)
            client.send(FrameWriter.frame(.text, payload: Array("hi".utf8), maskKey: 0x0102_0304))
            client.readUntilClosed()
        }
        XCTAssertEqual(app.closed, 1)
        XCTAssertEqual(server.connectionCount, 0)
    }

    /// An application that keeps sending to a peer that never reads cannot grow the queue past
    /// twice max_outbound_bytes: nothing more is queued, and the close frame with the
    /// application's slow-consumer code (1008 by default) follows the backlog.
    func testOutputForAPeerThatDoesNotReadIsBoundedAndClosed() throws {
        var config = ServerConfig()
        config.maxOutboundBytes = 256 * 1024
        config.closeTimeout = 0.5
        let app = ProbeApplication(mode: .flood(8 << 20))
        app.expected = 2  // the loop stops when the client has seen the end, not at connectionClosed
        let received = Locked<(total: Int, tail: [UInt8])>((0, []))
        let server = try runServer(app, config: config) { port, handle in
            let client = RawClient(port: port, receiveBuffer: 4096)
            sleep(1)
            received.withLock { $0 = client.readUntilClosed() }
            handle.stop()
        }
        XCTAssertEqual(app.closed, 1)
        XCTAssertEqual(server.connectionCount, 0)
        let (total, tail) = received.withLock { $0 }
        XCTAssertLessThan(total, 2 * config.maxOutboundBytes + 512 * 1024, "the backlog stayed bounded")
        let reason = Array("slow consumer".utf8)
        XCTAssertEqual(tail.suffix(4 + reason.count), [0x88, UInt8(2 + reason.count), 0x03, 0xF0] + reason,
                       "the last frame is a close with 1008")
    }
}

/// A blocking client socket that completes the opening handshake.
final class RawClient: @unchecked Sendable {
    let fd: Int32

    init(port: Int, receiveBuffer: Int32? = nil) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, 4) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(result == 0, "connect failed")
        send(Array("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]), read(fd, &byte, 1) == 1 { head.append(byte) }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Reads until the server closes or resets the connection; returns how many bytes came and
    /// the last 64 of them.
    @discardableResult
    func readUntilClosed() -> (total: Int, tail: [UInt8]) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var total = 0
        var tail: [UInt8] = []
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return (total, tail) }
            total += count
            tail = Array((tail + buffer[0..<count]).suffix(64))
        }
    }
}
