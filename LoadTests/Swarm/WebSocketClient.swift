import Buffers
import CSystem
import Glibc
import Reactor
import WebSocket

/// Told what happens on a client connection. One delegate usually serves every connection of a
/// worker and keeps per-connection state in arrays indexed by `tag`.
protocol WebSocketClientDelegate: AnyObject {
    func clientOpened(_ client: WebSocketClient)
    /// `payload` is valid only during the call.
    func client(_ client: WebSocketClient, received opcode: Opcode, payload: UnsafeRawBufferPointer)
    func clientEnded(_ client: WebSocketClient, _ failure: ClientFailure)
}

/// One client connection on the loop: a non-blocking connect, the upgrade (ClientHandshake),
/// then frames (FrameReader, unmasked from the server; our frames masked with FrameWriter). The
/// client side of what RelayServer's Connection does, without the server's policies: it answers
/// pings and close frames and reports everything else to its delegate.
final class WebSocketClient: EventHandler, Flushable {
    private enum Phase { case connecting, handshaking, open, closed }

    let tag: Int
    private let fd: Int32
    // unowned(unsafe): the loop and the delegate live as long as the process; plain unowned would
    // cost a reference count check on every event (as in RelayServer's Connection).
    unowned(unsafe) let loop: EventLoop
    private unowned(unsafe) let delegate: WebSocketClientDelegate
    private var phase = Phase.connecting
    private var handshake: ClientHandshake
    private var reader: FrameReader
    /// Bytes received but not parsed yet: part of the response head or of a frame header.
    private var unparsed: ByteBuffer?
    private var outbound = OutboundQueue()
    private var interest = UInt32(EPOLLOUT.rawValue)
    private var flushScheduled = false
    private var maskState: UInt64
    /// When the last read returned: the arrival time of every message parsed from it.
    private(set) var receivedAt: UInt64 = 0
    private(set) var subprotocol: String?

    init(tag: Int, loop: EventLoop, endpoint: Endpoint, source: UInt32?, subprotocols: [String],
         maxMessageSize: Int, delegate: WebSocketClientDelegate) throws(SystemError) {
        self.tag = tag
        self.loop = loop
        self.delegate = delegate
        var random = SystemRandomNumberGenerator()
        handshake = ClientHandshake(host: endpoint.authority, path: endpoint.path, subprotocols: subprotocols, using: &random)
        maskState = random.next() | 1
        reader = FrameReader(configuration: .init(maxFrameSize: maxMessageSize, maxMessageSize: maxMessageSize, requireMasked: false))
        fd = try TCPConnect.start(to: endpoint, from: source)
        do {
            try loop.register(fd: fd, handler: self, events: interest)
        } catch {
            Glibc.close(fd)
            throw (error as? SystemError) ?? SystemError("epoll_ctl")
        }
    }

    func handleEvents(_ events: UInt32) {
        if phase == .connecting { return connected() }
        if events & UInt32(EPOLLOUT.rawValue) != 0 { flush() }
        guard phase != .closed else { return }
        if events & UInt32(EPOLLIN.rawValue) != 0 {
            readInput()
        } else if events & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0 {
            end(.lost("socket error or hang-up"))
        }
    }

    private func connected() {
        let error = TCPConnect.pendingError(fd)
        guard error == 0 else { return end(.connect(SystemError("connect", errno: error))) }
        phase = .handshaking
        handshake.request.withUnsafeBytes { outbound.append($0, arena: loop.arena) }
        setInterest(UInt32(EPOLLIN.rawValue))
        scheduleFlush()
    }

    // MARK: Input

    private func readInput() {
        let buffer = loop.readBuffer
        var held = 0
        if let unparsed {
            held = unparsed.readableBytes
            buffer.baseAddress!.copyMemory(from: unparsed.readableView.baseAddress!, byteCount: held)
            self.unparsed = nil
        }
        let count = read(fd, buffer.baseAddress! + held, buffer.count - held)
        if count > 0 {
            receivedAt = Clock.now()
            let input = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(held + count)])
            if phase == .handshaking { readHandshake(input) } else { readFrames(input, from: 0) }
        } else if count == 0 {
            end(.lost("the server closed TCP without a close frame"))
        } else {
            let error = csystem_errno()
            guard error == EAGAIN || error == EINTR else { return end(.lost(SystemError("read", errno: error).description)) }
            keepUnparsed(UnsafeRawBufferPointer(rebasing: buffer[0..<held]))
        }
    }

    private func keepUnparsed(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let kept = ByteBuffer(capacity: max(bytes.count, 256))
        kept.write(bytes)
        unparsed = kept
    }

    private func readHandshake(_ input: UnsafeMutableRawBufferPointer) {
        switch handshake.parse(UnsafeRawBufferPointer(input)) {
        case .needMore:
            keepUnparsed(UnsafeRawBufferPointer(input))
        case .rejected(let error):
            end(.handshake(error))
        case .accepted(let subprotocol, let consumed):
            phase = .open
            self.subprotocol = subprotocol
            delegate.clientOpened(self)
            if phase == .open, consumed < input.count { readFrames(input, from: consumed) }
        }
    }

    private func readFrames(_ input: UnsafeMutableRawBufferPointer, from start: Int) {
        var position = start
        while phase == .open {
            switch reader.read(input, position: &position) {
            case .needMore:
                if position < input.count { keepUnparsed(UnsafeRawBufferPointer(rebasing: input[position...])) }
                return
            case .message(let opcode, let payload, _):
                delegate.client(self, received: opcode, payload: payload)
            case .ping(let payload):
                send(.pong, payload: payload)
            case .pong:
                break
            case .close(let code, let reason):
                send(.close, payload: FrameWriter.closePayload(code ?? .normal))
                end(.closedByServer(code, String(decoding: reason, as: UTF8.self)))
            case .failure(let code, let reason):
                send(.close, payload: FrameWriter.closePayload(code, reason: reason))
                end(.protocolError(code, reason))
            }
        }
    }

    // MARK: Output

    /// Queues one masked frame of `count` payload bytes that `fill` writes in place; it goes out
    /// at the end of the turn.
    func send(_ opcode: Opcode, count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        guard phase == .open else { return }
        let key = nextMaskKey()
        let headerSize = FrameWriter.headerSize(payloadLength: count, masked: true)
        let target = outbound.reserve(headerSize + count, arena: loop.arena)
        FrameWriter.writeHeader(into: target, opcode: opcode, payloadLength: count, maskKey: key)
        let payload = UnsafeMutableRawBufferPointer(start: target + headerSize, count: count)
        fill(payload)
        Masking.apply(key: key, phase: 0, to: payload)
        scheduleFlush()
    }

    func send(_ opcode: Opcode, payload: UnsafeRawBufferPointer) {
        send(opcode, count: payload.count) { if payload.count > 0 { $0.copyMemory(from: payload) } }
    }

    func send(_ opcode: Opcode, payload: [UInt8]) {
        payload.withUnsafeBytes { send(opcode, payload: $0) }
    }

    /// xorshift64*: masking keys need only be unpredictable to intermediaries (RFC 6455 §10.3),
    /// and a system random call per frame would cost more than the frame.
    private func nextMaskKey() -> UInt32 {
        maskState ^= maskState >> 12
        maskState ^= maskState << 25
        maskState ^= maskState >> 27
        return UInt32(truncatingIfNeeded: (maskState &* 0x2545_F491_4F6C_DD1D) >> 32)
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.scheduleFlush(self)
    }

    func flush() {
        flushScheduled = false
        guard phase != .closed, phase != .connecting else { return }
        switch loop.write(&outbound, to: fd) {
        case .drained: setInterest(UInt32(EPOLLIN.rawValue))
        case .wouldBlock: setInterest(UInt32(EPOLLIN.rawValue) | UInt32(EPOLLOUT.rawValue))
        case .failed(let error): end(.lost(SystemError("writev", errno: error).description))
        }
    }

    private func setInterest(_ mask: UInt32) {
        guard mask != interest else { return }
        interest = mask
        loop.modify(fd: fd, events: mask)
    }

    /// Closes the socket now (after one last try to write what is queued, such as a close
    /// frame) and tells the delegate.
    private func end(_ failure: ClientFailure) {
        guard phase != .closed else { return }
        if phase != .connecting, !outbound.isEmpty { _ = loop.write(&outbound, to: fd) }
        phase = .closed
        loop.unregister(fd: fd)
        Glibc.close(fd)
        outbound.removeAll()
        unparsed = nil
        delegate.clientEnded(self, failure)
    }
}

/// Why a client connection ended, with a short kind for the error counts.
enum ClientFailure: CustomStringConvertible {
    case connect(SystemError)
    case handshake(ClientHandshakeError)
    case closedByServer(CloseCode?, String)
    case protocolError(CloseCode, String)
    case lost(String)

    var kind: String {
        switch self {
        case .connect(let error): return "connect_\(ErrnoName.of(error.errno))"
        case .handshake(.status(let code, _)): return "handshake_http_\(code)"
        case .handshake: return "handshake_invalid"
        case .closedByServer(let code, _): return "closed_by_server_\(code?.rawValue ?? CloseCode.noStatus.rawValue)"
        case .protocolError: return "protocol_error"
        case .lost: return "connection_lost"
        }
    }

    var description: String {
        switch self {
        case .connect(let error): return "\(error)"
        case .handshake(let error): return "upgrade refused: \(error)"
        case .closedByServer(let code, let reason):
            return "closed by the server with \(code?.rawValue ?? CloseCode.noStatus.rawValue)\(reason.isEmpty ? "" : " (\(reason))")"
        case .protocolError(let code, let reason): return "protocol error from the server (\(code)): \(reason)"
        case .lost(let why): return why
        }
    }
}

/// Names for the errno values a load test meets, so error kinds read like the man pages.
enum ErrnoName {
    static func of(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: return "ECONNREFUSED"
        case ECONNRESET: return "ECONNRESET"
        case ETIMEDOUT: return "ETIMEDOUT"
        case EADDRNOTAVAIL: return "EADDRNOTAVAIL"
        case EADDRINUSE: return "EADDRINUSE"
        case EMFILE: return "EMFILE"
        case ENFILE: return "ENFILE"
        case ENOBUFS: return "ENOBUFS"
        default: return "errno_\(code)"
        }
    }
}
