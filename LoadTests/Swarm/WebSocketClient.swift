import Buffers
import CSystem
import Glibc
import Reactor
import TLS
import WebSocket

/// Told what happens on a client connection. One delegate usually serves every connection of a
/// worker and keeps per-connection state in arrays indexed by `tag`.
protocol WebSocketClientDelegate: AnyObject {
    /// wss://: the TLS handshake is done; the upgrade request goes next.
    func clientSecured(_ client: WebSocketClient, resumed: Bool)
    func clientOpened(_ client: WebSocketClient)
    /// `payload` is valid only during the call.
    func client(_ client: WebSocketClient, received opcode: Opcode, payload: UnsafeRawBufferPointer)
    func clientEnded(_ client: WebSocketClient, _ failure: ClientFailure)
}

/// One client connection on the loop: a non-blocking connect, for wss:// the TLS handshake,
/// the upgrade (ClientHandshake), then frames (FrameReader, unmasked from the server; our frames
/// masked with FrameWriter). The client side of what RelayServer's Connection does, without the
/// server's policies: it answers pings and close frames and reports everything else to its
/// delegate. Over TLS it reads and writes through the session as Connection does: the handshake
/// driven by epoll events, a read outcome deferred past returned bytes, and a turn's frames
/// gathered into few records.
final class WebSocketClient: EventHandler, Flushable {
    private enum Phase { case connecting, securing, handshaking, open, closed }
    private enum ReadOutcome { case bytes(Int), wouldBlock, endOfStream, failed(ClientFailure) }

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
    /// wss://: OpenSSL on the socket; nil for ws://.
    private let tls: TLSSession?
    /// A TLS read needs to write first (a post-handshake message): read again when writable.
    private var tlsReadWantsWrite = false
    /// Why the TLS session refused the last write, for `end`.
    private var tlsWriteFailure: String?
    private var interest = UInt32(EPOLLOUT.rawValue)
    private var flushScheduled = false
    private var maskState: UInt64
    /// When the last read returned: the arrival time of every message parsed from it.
    private(set) var receivedAt: UInt64 = 0
    private(set) var subprotocol: String?

    init(tag: Int, loop: EventLoop, endpoint: Endpoint, tls context: TLSClientContext?, source: UInt32?, subprotocols: [String],
         maxMessageSize: Int, delegate: WebSocketClientDelegate) throws(SystemError) {
        self.tag = tag
        self.loop = loop
        self.delegate = delegate
        var random = SystemRandomNumberGenerator()
        handshake = ClientHandshake(host: endpoint.authority, path: endpoint.path, subprotocols: subprotocols, using: &random)
        maskState = random.next() | 1
        reader = FrameReader(configuration: .init(maxFrameSize: maxMessageSize, maxMessageSize: maxMessageSize, requireMasked: false))
        fd = try TCPConnect.start(to: endpoint, from: source)
        if let context {
            guard let session = context.makeSession(fd: fd, host: endpoint.host) else {
                Glibc.close(fd)
                throw SystemError("SSL_new", errno: ENOMEM)
            }
            tls = session
        } else {
            tls = nil
        }
        do {
            try loop.register(fd: fd, handler: self, events: interest)
        } catch {
            Glibc.close(fd)
            throw (error as? SystemError) ?? SystemError("epoll_ctl")
        }
    }

    func handleEvents(_ events: UInt32) {
        if phase == .connecting { return connected() }
        if phase == .securing, let tls { return advanceTLSHandshake(tls) }
        if events & UInt32(EPOLLOUT.rawValue) != 0 {
            let readAgain = tlsReadWantsWrite
            tlsReadWantsWrite = false
            flush()
            if readAgain, phase != .closed { readAvailableInput() }
        }
        guard phase != .closed else { return }
        if events & UInt32(EPOLLIN.rawValue) != 0 {
            readAvailableInput()
        } else if events & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0 {
            end(.lost("socket error or hang-up"))
        }
    }

    private func connected() {
        let error = TCPConnect.pendingError(fd)
        guard error == 0 else { return end(.connect(SystemError("connect", errno: error))) }
        guard let tls else { return sendUpgrade() }
        phase = .securing
        advanceTLSHandshake(tls)
    }

    /// Each step writes what it can and says which direction it waits for; epoll calls again.
    private func advanceTLSHandshake(_ tls: TLSSession) {
        switch tls.handshake() {
        case .complete:
            delegate.clientSecured(self, resumed: tls.resumed)
            sendUpgrade()
        case .wantRead:
            setInterest(UInt32(EPOLLIN.rawValue))
        case .wantWrite:
            setInterest(UInt32(EPOLLIN.rawValue) | UInt32(EPOLLOUT.rawValue))
        case .closed:
            end(.tls(during: "handshake", "closed"))
        case .failed(let reason):
            end(.tls(during: "handshake", reason))
        }
    }

    private func sendUpgrade() {
        phase = .handshaking
        handshake.request.withUnsafeBytes { outbound.append($0, arena: loop.arena) }
        setInterest(UInt32(EPOLLIN.rawValue))
        scheduleFlush()
    }

    // MARK: Input

    /// Reads, then, on TLS, what no epoll event will announce (TLSSession.hasInputWithoutEvent).
    private func readAvailableInput() {
        readInput()
        while let tls, tls.hasInputWithoutEvent, phase != .closed { readInput() }
    }

    private func readInput() {
        let buffer = loop.readBuffer
        var held = 0
        if let unparsed {
            held = unparsed.readableBytes
            buffer.baseAddress!.copyMemory(from: unparsed.readableView.baseAddress!, byteCount: held)
            self.unparsed = nil
        }
        switch receive(into: buffer.baseAddress! + held, capacity: buffer.count - held) {
        case .bytes(let count):
            receivedAt = Clock.now()
            let input = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(held + count)])
            if phase == .handshaking { readHandshake(input) } else { readFrames(input, from: 0) }
        case .endOfStream:
            end(.lost("the server closed \(tls == nil ? "TCP" : "TLS") without a close frame"))
        case .wouldBlock:
            keepUnparsed(UnsafeRawBufferPointer(rebasing: buffer[0..<held]))
        case .failed(let failure):
            end(failure)
        }
    }

    private func receive(into pointer: UnsafeMutableRawPointer, capacity: Int) -> ReadOutcome {
        if let tls { return receiveTLS(tls, into: pointer, capacity: capacity) }
        let count = read(fd, pointer, capacity)
        if count > 0 { return .bytes(count) }
        if count == 0 { return .endOfStream }
        let error = csystem_errno()
        // EINTR: level-triggered epoll calls again.
        guard error == EAGAIN || error == EINTR else { return .failed(.lost(SystemError("read", errno: error).description)) }
        return .wouldBlock
    }

    private func receiveTLS(_ tls: TLSSession, into pointer: UnsafeMutableRawPointer, capacity: Int) -> ReadOutcome {
        var count = 0
        switch tls.read(into: pointer, capacity: capacity, count: &count) {
        case .complete:
            return .bytes(count)
        case .wantRead:
            return .wouldBlock
        case .wantWrite:
            tlsReadWantsWrite = true
            setInterest(UInt32(EPOLLIN.rawValue) | UInt32(EPOLLOUT.rawValue))
            return .wouldBlock
        case .closed:
            return .endOfStream
        case .failed(let reason):
            return .failed(.tls(during: "read", reason))
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
        guard phase != .closed, phase != .connecting, phase != .securing else { return }
        switch writeOutbound() {
        case .drained:
            setInterest(UInt32(EPOLLIN.rawValue) | (tlsReadWantsWrite ? UInt32(EPOLLOUT.rawValue) : 0))
        case .wouldBlock:
            setInterest(UInt32(EPOLLIN.rawValue) | UInt32(EPOLLOUT.rawValue))
        case .failed(let error):
            end(tlsWriteFailure.map { .tls(during: "write", $0) } ?? .lost(SystemError("writev", errno: error).description))
        }
    }

    /// The queue to the socket: gathered by writev, or over TLS into the loop's staging buffer
    /// and out as a few records (a turn's frames are corked into one write).
    private func writeOutbound() -> OutboundQueue.WriteResult {
        guard let tls else { return loop.write(&outbound, to: fd) }
        return loop.write(&outbound) { bytes in
            var written = 0
            switch tls.write(bytes, written: &written) {
            case .complete: return written
            case .wantWrite, .wantRead: return 0
            case .closed:
                tlsWriteFailure = "closed"
                return nil
            case .failed(let reason):
                tlsWriteFailure = reason
                return nil
            }
        }
    }

    private func setInterest(_ mask: UInt32) {
        guard mask != interest else { return }
        interest = mask
        loop.modify(fd: fd, events: mask)
    }

    /// Closes an open connection from our side, as a client going away does: a close frame
    /// (1000), then the socket at once, without waiting for the server's close frame. The
    /// delegate is not told: the caller knows.
    func close() {
        guard phase == .open else { return }
        send(.close, payload: FrameWriter.closePayload(.normal))
        release(closeNotify: true)
    }

    /// Closes the socket now and tells the delegate.
    private func end(_ failure: ClientFailure) {
        guard phase != .closed else { return }
        switch failure {
        case .closedByServer, .protocolError: release(closeNotify: true)
        default: release(closeNotify: false)
        }
        delegate.clientEnded(self, failure)
    }

    /// Closes the socket after one last try to write what is queued (such as a close frame).
    /// `closeNotify`: TLS's close_notify follows a close frame; never a TLS or socket error,
    /// after which OpenSSL forbids it. The TCP close follows either way.
    private func release(closeNotify: Bool) {
        if phase != .connecting, phase != .securing, !outbound.isEmpty { _ = writeOutbound() }
        if closeNotify, tlsWriteFailure == nil { tls?.shutdown() }
        phase = .closed
        loop.unregister(fd: fd)
        Glibc.close(fd)
        outbound.removeAll()
        unparsed = nil
    }
}

/// Why a client connection ended, with a short kind for the error counts.
enum ClientFailure: CustomStringConvertible {
    case connect(SystemError)
    case handshake(ClientHandshakeError)
    case closedByServer(CloseCode?, String)
    case protocolError(CloseCode, String)
    /// wss://: the TLS session failed in the handshake, a read or a write; OpenSSL's reason as a
    /// label (`certificate_verify_failed`, `wrong_version_number`, `closed`, ...).
    case tls(during: String, String)
    case lost(String)

    var kind: String {
        switch self {
        case .connect(let error): return "connect_\(ErrnoName.of(error.errno))"
        case .handshake(.status(let code, _)): return "handshake_http_\(code)"
        case .handshake: return "handshake_invalid"
        case .closedByServer(let code, _): return "closed_by_server_\(code?.rawValue ?? CloseCode.noStatus.rawValue)"
        case .protocolError: return "protocol_error"
        case .tls(let during, let reason): return "tls_\(during)_\(reason)"
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
        case .tls(let during, let reason): return "TLS \(during) failed: \(reason)"
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
