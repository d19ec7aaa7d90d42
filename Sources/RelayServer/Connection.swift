import Buffers
import CSystem
import Glibc
import Logging
import Reactor
import TLS
import WebSocket

/// One client socket: the HTTP upgrade, then RFC 6455 frames, then the close handshake. It moves
/// bytes between the socket and the sans-I/O core (HTTPRequestParser, FrameReader) and owns the
/// connection's timer, its unparsed input and its outbound queue. On the TLS listener, a TLS
/// session sits between the socket and the rest: its handshake comes first, then every read and
/// write goes through it.
public final class Connection: EventHandler, Flushable {
    enum Phase {
        /// Waiting for the upgrade request.
        case handshake
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        /// The close handshake is over (or the connection failed, or we answered with HTTP):
        /// flush, send FIN, wait for the peer's FIN, close.
        case draining
        case closed
    }

    /// What the connection's single timer is armed for.
    enum TimerPurpose { case handshake, ping, pong, close, drain }

    public let id: UInt64
    let fd: Int32
    // unowned(unsafe): the loop owns the LoopServer, which owns its connections, so both outlive
    // every call into a connection; plain unowned would cost a reference count check per use.
    unowned(unsafe) let server: LoopServer
    unowned(unsafe) let loop: EventLoop
    var registryIndex = -1

    private(set) var phase = Phase.handshake
    private var parser: HTTPRequestParser
    private var reader: FrameReader
    /// Bytes received but not yet parsed (part of a request head or of a frame header).
    private var unparsed: ByteBuffer?
    private var outbound = OutboundQueue()
    private lazy var timer = LoopTimer { [unowned self] in self.timerFired() }
    private var timerPurpose = TimerPurpose.handshake
    private var lastActivity: UInt64 = 0
    private var pingSentAt: UInt64 = 0
    private var flushScheduled = false
    private var writeInterest = false
    private var readPaused = false
    private var writeShutDown = false
    /// The peer sent its FIN while our output was still going out: close once it is written.
    private var peerFinished = false
    /// The application queued more than twice `max_outbound_bytes` for a peer that does not read.
    private var outputOverflowed = false
    private var interest: UInt32 = 0
    private let tls: TLSSession?
    /// permessage-deflate, when the client offered it and the server allows it.
    private var compression: ConnectionCompression?
    /// A TLS read needs to write first (a post-handshake message): read again when writable.
    private var tlsReadWantsWrite = false
    /// The subprotocol agreed at the handshake, if any.
    public private(set) var subprotocol: String?
    /// How the connection ended, once it has (nil while open): for the application's
    /// `connectionClosed`.
    public private(set) var ending: ConnectionEnding?

    init(fd: Int32, id: UInt64, server: LoopServer, tls: TLSSession? = nil) {
        self.fd = fd
        self.tls = tls
        self.id = id
        self.server = server
        loop = server.loop
        parser = HTTPRequestParser(limits: server.parserLimits)
        reader = FrameReader(configuration: server.readerConfiguration)
    }

    func start(overLimit: Bool) throws {
        lastActivity = loop.now
        interest = UInt32(EPOLLIN.rawValue)
        try loop.register(fd: fd, handler: self, events: interest)
        if overLimit, tls != nil {
            // A 503 would cost a whole TLS handshake, which is the wrong work to do when full.
            log(.info, "connection refused: listen.max_connections reached")
            server.stats.refused[503, default: 0] &+= 1
            abort()
            return
        }
        if overLimit {
            refuse(HandshakeRejection(.serviceUnavailable, headers: [("Retry-After", "5")], reason: "listen.max_connections reached"))
            return
        }
        arm(.handshake, after: server.handshakeTimeout)
    }

    // MARK: Events

    public func handleEvents(_ events: UInt32) {
        if let tls, !tls.isEstablished {
            advanceTLSHandshake(tls)
            return
        }
        if events & UInt32(EPOLLOUT.rawValue) != 0 {
            flush()
            if tlsReadWantsWrite, phase != .closed {
                tlsReadWantsWrite = false
                readAvailableInput()
            }
        }
        if phase == .closed { return }
        if events & UInt32(EPOLLIN.rawValue) != 0 {
            readAvailableInput()
        } else if events & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0 {
            abort()
        }
    }

    /// Reads, then, on TLS, what epoll will not announce (TLSSession.hasInputWithoutEvent): at
    /// most a record's worth, even while reading is paused for backpressure.
    private func readAvailableInput() {
        readInput()
        while let tls, phase != .closed, tls.hasInputWithoutEvent { readInput() }
    }

    private func advanceTLSHandshake(_ tls: TLSSession) {
        switch tls.handshake() {
        case .complete:
            server.stats.tlsHandshakes &+= 1
            if tls.resumed { server.stats.tlsResumed &+= 1 }
            log(.debug, "TLS established", ["version": "\(tls.protocolVersion)", "cipher": "\(tls.cipher)", "resumed": "\(tls.resumed)"])
            writeInterest = false
            updateInterest()
            readAvailableInput()
        case .wantRead:
            writeInterest = false
            updateInterest()
        case .wantWrite:
            writeInterest = true
            updateInterest()
        case .closed:
            log(.debug, "connection closed during the TLS handshake")
            abort()
        case .failed(let reason):
            tlsFailed(reason, during: "TLS handshake failed")
            abort()
        }
    }

    private func tlsFailed(_ reason: String, during what: Logger.Message) {
        server.stats.tlsErrors[reason, default: 0] &+= 1
        log(.info, what, ["reason": "\(reason)"])
    }

    private enum ReadOutcome { case bytes(Int), wouldBlock, endOfStream, failed }

    private func receive(into pointer: UnsafeMutableRawPointer, capacity: Int) -> ReadOutcome {
        if let tls { return receiveTLS(tls, into: pointer, capacity: capacity) }
        while true {
            let count = read(fd, pointer, capacity)
            if count > 0 {
                server.stats.bytesIn &+= UInt64(count)
                return .bytes(count)
            }
            if count == 0 { return .endOfStream }
            let error = csystem_errno()
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK { return .wouldBlock }
            log(.debug, "read failed", ["error": "\(SystemError("read", errno: error))"])
            return .failed
        }
    }

    private func receiveTLS(_ tls: TLSSession, into pointer: UnsafeMutableRawPointer, capacity: Int) -> ReadOutcome {
        var count = 0
        switch tls.read(into: pointer, capacity: capacity, count: &count) {
        case .complete:
            server.stats.bytesIn &+= UInt64(count)
            return .bytes(count)
        case .wantRead:
            return .wouldBlock
        case .wantWrite:
            tlsReadWantsWrite = true
            writeInterest = true
            updateInterest()
            return .wouldBlock
        case .closed:
            return .endOfStream
        case .failed(let reason):
            tlsFailed(reason, during: "TLS read failed")
            return .failed
        }
    }

    private func readInput() {
        if phase == .handshake, let head = unparsed {
            readMoreOfHandshake(into: head)
            return
        }
        let buffer = loop.readBuffer
        var held = 0
        if let unparsed {
            // At most a frame header or a control frame: put it in front of the new bytes.
            held = unparsed.readableBytes
            if held > 0 { buffer.baseAddress!.copyMemory(from: unparsed.readableView.baseAddress!, byteCount: held) }
            self.unparsed = nil
        }
        switch receive(into: buffer.baseAddress! + held, capacity: buffer.count - held) {
        case .bytes(let count):
            received()
            let input = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(held + count)])
            switch phase {
            case .handshake: readHandshake(input)
            case .open, .closeSent: readFrames(input, from: 0)
            case .draining, .closed: break
            }
        case .wouldBlock:
            keepUnparsed(UnsafeRawBufferPointer(rebasing: buffer[0..<held]))
        case .endOfStream:
            peerClosedTCP()
        case .failed:
            abort()
        }
    }

    /// A request head that did not arrive in one read: later reads go straight into the bytes
    /// already held (bounded by the head limit), so a byte-at-a-time sender costs no copying.
    private func readMoreOfHandshake(into head: ByteBuffer) {
        let room = max(1, server.parserLimits.maxHeadBytes - head.readableBytes)
        head.reserveWritable(room)
        switch receive(into: head.writableSpace.baseAddress!, capacity: room) {
        case .bytes(let count):
            head.commitWritten(count)
            received()
            readHandshake(head.mutableReadableView)
        case .wouldBlock:
            break
        case .endOfStream:
            peerClosedTCP()
        case .failed:
            abort()
        }
    }

    private func received() {
        lastActivity = loop.now
        // Anything received answers a ping: the next one is due ping_interval from now, not when
        // the pong timer would have run out (which would stretch the period by pong_timeout).
        if timerPurpose == .pong, phase == .open { arm(.ping, after: server.pingInterval) }
    }

    private func keepUnparsed(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        if let unparsed {
            unparsed.write(bytes)
        } else {
            let kept = ByteBuffer(capacity: max(bytes.count, 256))
            kept.write(bytes)
            unparsed = kept
        }
    }

    // MARK: Handshake

    /// `input` is either in the loop's read buffer (a first read) or in `unparsed`.
    private func readHandshake(_ input: UnsafeMutableRawBufferPointer) {
        switch parser.parse(UnsafeRawBufferPointer(input)) {
        case .needMore:
            if unparsed == nil { keepUnparsed(UnsafeRawBufferPointer(input)) }
        case .failure(let status, let reason):
            refuse(HandshakeRejection(status, reason: reason))
        case .complete(let head, let consumed):
            // Bytes after the head are frames: move them to the loop's read buffer (memmove, the
            // regions may overlap) before the head's buffer is released.
            let rest = UnsafeMutableRawBufferPointer(rebasing: loop.readBuffer[0..<(input.count - consumed)])
            if rest.count > 0 { rest.baseAddress!.copyMemory(from: input.baseAddress! + consumed, byteCount: rest.count) }
            unparsed = nil
            route(head, rest: rest)
        }
    }

    private func route(_ head: HTTPRequestHead, rest: UnsafeMutableRawBufferPointer) {
        let config = server.config
        let path = head.path
        if path == config.healthPath[...], head.method == "GET" || head.method == "HEAD" {
            var response = HTTPResponse.make(.ok, body: "ok\n")
            // A response to HEAD has the headers of the GET response and no content (RFC 9110 §9.3.2).
            if head.method == "HEAD" { response.removeLast("ok\n".utf8.count) }
            respondHTTP(response)
            return
        }
        guard path == config.webSocketPath[...] else {
            refuse(HandshakeRejection(.notFound, reason: "no such path"))
            return
        }
        let request: UpgradeRequest
        switch Handshake.validate(head) {
        case .failure(let rejection):
            refuse(rejection)
            return
        case .success(let valid):
            request = valid
        }
        // Browsers always send Origin; other clients need not. An Origin not on the list is a page
        // of another site driving the user's browser (Cross-Site WebSocket Hijacking).
        if let origin = request.origin, !config.allowedOrigins.contains("*"), !config.allowedOrigins.contains(origin) {
            refuse(HandshakeRejection(.forbidden, reason: "origin not allowed"))
            return
        }
        switch server.application.negotiate(request) {
        case .failure(let rejection):
            refuse(rejection)
        case .success(let subprotocol):
            self.subprotocol = subprotocol
            var extensions: String?
            if let shared = server.compression,
               let agreement = DeflateNegotiation.agree(offers: request.extensionOffers, settings: shared.settings) {
                compression = ConnectionCompression(agreement: agreement)
                extensions = agreement.responseHeader
                reader = FrameReader(configuration: server.compressedReaderConfiguration)
            }
            let response = Handshake.acceptResponse(for: request, subprotocol: subprotocol, extensions: extensions)
            response.withUnsafeBytes { outbound.append($0, arena: loop.arena) }
            scheduleFlush()
            phase = .open
            server.stats.opened &+= 1
            arm(.ping, after: server.pingInterval)
            server.application.connectionOpened(self, request: request)
            if rest.count > 0, phase == .open { readFrames(rest, from: 0) }
        }
    }

    private func refuse(_ rejection: HandshakeRejection) {
        log(.info, "upgrade refused", ["status": "\(rejection.status.code)", "reason": "\(rejection.reason)"])
        server.stats.refused[rejection.status.code, default: 0] &+= 1
        respondHTTP(HTTPResponse.rejection(rejection))
    }

    private func respondHTTP(_ response: [UInt8]) {
        response.withUnsafeBytes { outbound.append($0, arena: loop.arena) }
        unparsed = nil
        startDraining()
    }

    // MARK: Frames

    private func readFrames(_ input: UnsafeMutableRawBufferPointer, from start: Int) {
        var position = start
        loop: while true {
            switch reader.read(input, position: &position) {
            case .needMore:
                break loop
            case .message(let opcode, let payload, let compressed):
                guard phase == .open else { break }
                if compressed {
                    guard let message = inflate(opcode, payload) else { return }
                    server.application.connection(self, received: opcode, payload: message)
                } else {
                    server.application.connection(self, received: opcode, payload: payload)
                }
            case .ping(let payload):
                if phase == .open { sendFrame(.pong, payload: payload) }
            case .pong:
                break
            case .close(let code, let reason):
                closeReceived(code, reason: reason)
                return
            case .failure(let code, let reason):
                log(.info, "protocol error", ["close": "\(code)", "reason": "\(reason)"])
                fail(code, reason: reason)
                return
            }
            if phase != .open && phase != .closeSent { return }
        }
        if position < input.count { keepUnparsed(UnsafeRawBufferPointer(rebasing: input[position...])) }
        if outbound.pendingBytes > server.config.maxOutboundBytes, !readPaused {
            readPaused = true
            updateInterest()
        }
    }

    /// A compressed message, inflated into the loop's scratch buffer (valid until the next
    /// message), or nil when the connection failed: 1009 past `max_message_size` once inflated,
    /// which stops a zip bomb after that many bytes; 1007 for data that is not DEFLATE or not
    /// UTF-8.
    private func inflate(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let compression, let shared = server.compression, let inflater = compression.inflater(shared) else {
            log(.warning, "zlib could not allocate a decompressor; closing with 1011")
            fail(.internalError, reason: "no memory for a decompressor")
            return nil
        }
        let output = shared.inflated
        output.clear()
        let limit = server.config.maxMessageSize
        switch inflater.inflate(payload, into: output, limit: limit, resetAfter: compression.agreement.clientNoContextTakeover) {
        case .complete:
            break
        case .tooBig:
            log(.info, "protocol error", ["close": "1009", "reason": "compressed message larger than \(limit) bytes once inflated"])
            fail(.messageTooBig, reason: "message larger than \(limit) bytes")
            return nil
        case .corrupt(let reason):
            log(.info, "protocol error", ["close": "1007", "reason": "\(reason)"])
            fail(.invalidPayload, reason: "invalid compressed data")
            return nil
        }
        if opcode == .text {
            var validator = UTF8Validator()
            guard validator.validate(output.readableView), validator.isComplete else {
                log(.info, "protocol error", ["close": "1007", "reason": "invalid UTF-8 in text message"])
                fail(.invalidPayload, reason: "invalid UTF-8 in text message")
                return nil
            }
        }
        return output.readableView
    }

    private func closeReceived(_ code: CloseCode?, reason: UnsafeRawBufferPointer) {
        if ending == nil { ending = .closedByPeer(code: code?.rawValue) }
        if phase == .open {
            // Echo the peer's code (§5.5.1); a close without a code is answered with 1000.
            sendFrame(.close, payload: FrameWriter.closePayload(code ?? .normal))
            guard finishOpen() else { return }
        }
        log(.debug, "closed by peer", ["close": "\(code?.rawValue ?? 1005)"])
        startDraining()
    }

    /// Fails the connection (§7.1.7): a close frame with `code`, then no more reading of frames.
    private func fail(_ code: CloseCode, reason: String) {
        if ending == nil { ending = .failed(code: code.rawValue, reason: reason) }
        if phase == .open {
            sendFrame(.close, payload: FrameWriter.closePayload(code, reason: reason))
            guard finishOpen() else { return }
        }
        startDraining()
    }

    /// Starts the closing handshake from our side.
    public func close(_ code: CloseCode = .normal, reason: String = "") {
        guard phase == .open else { return }
        if ending == nil { ending = .closedByServer(code: code.rawValue, reason: reason) }
        sendFrame(.close, payload: FrameWriter.closePayload(code, reason: reason))
        guard finishOpen() else { return }
        phase = .closeSent
        // The peer's close must be read even if its connection was paused for backpressure;
        // its data frames are dropped from now on, so nothing more is queued for it.
        if readPaused { readPaused = false; updateInterest() }
        arm(.close, after: server.closeTimeout)
    }

    /// A drain: the application is told, then the connection is closed with 1001 after `delay`
    /// (keepalive stops: the drain timer takes the connection's one timer).
    func drain(after delay: UInt64) {
        switch phase {
        case .open:
            server.application.connectionWillDrain(self, closingIn: Int(delay / 1_000_000))
            if phase == .open { arm(.drain, after: delay) }
        case .handshake: abort()
        default: break
        }
    }

    /// Server shutdown: 1001 to open connections, the rest are dropped.
    func goAway() {
        switch phase {
        case .open: close(.goingAway, reason: "server shutting down")
        case .handshake: abort()
        default: break
        }
    }

    /// Leaves the open phase and tells the application. Returns false when the application
    /// aborted the connection from its callback: the caller must stop.
    private func finishOpen() -> Bool {
        phase = .draining
        server.stats.closed &+= 1
        server.application.connectionClosed(self)
        return phase != .closed
    }

    private func startDraining() {
        if phase == .open { guard finishOpen() else { return } }
        guard phase != .closed else { return }
        phase = .draining
        if readPaused { readPaused = false; updateInterest() }
        arm(.close, after: server.closeTimeout)
        scheduleFlush()
    }

    private func peerClosedTCP() {
        if phase == .open { log(.debug, "connection lost without a close frame") }
        if (phase == .closeSent || phase == .draining), !outbound.isEmpty {
            // A half-close: our close frame or HTTP answer may still be on its way. Stop reading
            // and close once it is written (or when the close timer runs out).
            peerFinished = true
            readPaused = true
            updateInterest()
            return
        }
        abort()
    }

    // MARK: Output

    /// Sends one unfragmented data frame, compressed when permessage-deflate was agreed and the
    /// payload is long enough; the bytes are copied now, written at the end of the turn.
    public func send(_ opcode: Opcode, payload: UnsafeRawBufferPointer) {
        guard phase == .open, !outputOverflowed else { return }
        if !writeCompressed(opcode, payload) { writeFrame(opcode, payload: payload) }
        checkOutputBound()
    }

    /// Writes the message compressed with this connection's compressor (its own, or the loop's
    /// that resets after each message) when permessage-deflate was agreed and it pays; false when
    /// nothing was written.
    private func writeCompressed(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) -> Bool {
        guard let compression, let shared = server.compression,
              let body = shared.deflate(opcode, payload, with: { compression.deflater(shared) }, resetAfter: compression.sharesFrames)
        else { return false }
        writeFrame(opcode, payload: body, compressed: true)
        return true
    }

    /// Queues bytes that are already a frame (encoded once for many connections). With
    /// permessage-deflate agreed and `compressible` (the application's choice, per namespace in
    /// the gateway), the payload is compressed: once per loop for every connection that resets
    /// its compressor after each message, per connection for those that keep context.
    public func send(frame: SharedBytes, compressible: Bool = true) {
        guard phase == .open, !outputOverflowed else { return }
        if compressible, let compression, let shared = server.compression, compression.sharesFrames {
            outbound.append(shared.sharedFrame(for: frame, key: compression.key))
        } else if compressible, let (opcode, payload) = FrameWriter.parseUnmasked(frame.bytes), writeCompressed(opcode, payload) {
            // Compressed with this connection's own context, which publications cannot share.
        } else {
            outbound.append(frame)
        }
        scheduleFlush()
        checkOutputBound()
    }

    /// Reading pauses above `max_outbound_bytes`, so replies to a peer's own requests exceed it by
    /// at most one read's worth. Output the application keeps producing for a peer that does not
    /// read (fan-out) is bounded here: past twice the limit plus one read buffer, nothing more is
    /// queued and the connection is closed with the application's slow-consumer code. The close
    /// frame goes after the backlog (every queued chunk ends on a frame boundary): a peer that is
    /// slow rather than gone reads what it was sent, then the code; one that reads nothing is
    /// dropped when close_timeout runs out. Memory stays bounded either way.
    private func checkOutputBound() {
        guard outbound.pendingBytes > server.maxQueuedOutput else { return }
        outputOverflowed = true
        log(.warning, "slow consumer: output over the bound of limits.max_outbound_bytes; closing",
            ["pending": "\(outbound.pendingBytes)"])
        server.stats.slowConsumerCloses += 1
        loop.atEndOfTurn { [self] in close(server.application.slowConsumerCloseCode, reason: "slow consumer") }
    }

    private func sendFrame(_ opcode: Opcode, payload: [UInt8]) {
        payload.withUnsafeBytes { writeFrame(opcode, payload: $0) }
    }

    private func sendFrame(_ opcode: Opcode, payload: UnsafeRawBufferPointer) {
        writeFrame(opcode, payload: payload)
    }

    private func writeFrame(_ opcode: Opcode, payload: UnsafeRawBufferPointer, compressed: Bool = false) {
        let headerSize = FrameWriter.headerSize(payloadLength: payload.count, masked: false)
        let target = outbound.reserve(headerSize + payload.count, arena: loop.arena)
        FrameWriter.writeHeader(into: target, opcode: opcode, rsv1: compressed, payloadLength: payload.count)
        if payload.count > 0 { (target + headerSize).copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
        scheduleFlush()
    }

    /// More than half of `max_outbound_bytes` is waiting for the peer: skip what can be skipped.
    public var isBackedUp: Bool { outbound.pendingBytes > server.config.maxOutboundBytes / 2 }

    private func scheduleFlush() {
        guard !flushScheduled, phase != .closed else { return }
        flushScheduled = true
        loop.scheduleFlush(self)
    }

    public func flush() {
        flushScheduled = false
        guard phase != .closed else { return }
        let queued = outbound.pendingBytes
        let result = tls.map(writeTLS) ?? loop.write(&outbound, to: fd)
        server.stats.bytesOut &+= UInt64(queued - outbound.pendingBytes)
        switch result {
        case .drained:
            if peerFinished {
                abort()
                return
            }
            writeInterest = false
            readPaused = false
            updateInterest()
            if phase == .draining, !writeShutDown {
                writeShutDown = true
                tls?.shutdown()
                shutdown(fd, Int32(SHUT_WR))
            }
        case .wouldBlock:
            writeInterest = true
            if readPaused, !peerFinished, outbound.pendingBytes <= server.config.maxOutboundBytes / 2 { readPaused = false }
            updateInterest()
        case .failed(let error):
            log(.debug, "write failed", ["error": "\(SystemError("writev", errno: error))"])
            abort()
        }
    }

    private func writeTLS(_ tls: TLSSession) -> OutboundQueue.WriteResult {
        loop.write(&outbound) { bytes in
            var written = 0
            switch tls.write(bytes, written: &written) {
            case .complete: return written
            case .wantWrite, .wantRead: return 0
            case .closed: return nil
            case .failed(let reason):
                tlsFailed(reason, during: "TLS write failed")
                return nil
            }
        }
    }

    private func updateInterest() {
        var mask: UInt32 = 0
        if !readPaused { mask |= UInt32(EPOLLIN.rawValue) }
        if writeInterest { mask |= UInt32(EPOLLOUT.rawValue) }
        guard mask != interest, phase != .closed else { return }
        interest = mask
        loop.modify(fd: fd, events: mask)
    }

    // MARK: Timers

    private func arm(_ purpose: TimerPurpose, after delay: UInt64) {
        timerPurpose = purpose
        loop.timers.schedule(timer, after: delay, now: loop.now)
    }

    private func timerFired() {
        switch timerPurpose {
        case .handshake:
            if let tls, !tls.isEstablished {
                tlsFailed("handshake_timeout", during: "TLS handshake timeout")
                abort()
                return
            }
            refuse(HandshakeRejection(.requestTimeout, reason: "handshake timeout"))
        case .ping:
            let idle = loop.now &- lastActivity
            if idle >= server.pingInterval {
                pingSentAt = loop.now
                sendFrame(.ping, payload: [])
                arm(.pong, after: server.pongTimeout)
            } else {
                arm(.ping, after: server.pingInterval - idle)
            }
        case .pong:
            if lastActivity > pingSentAt {
                arm(.ping, after: server.pingInterval)
            } else {
                log(.info, "ping timeout: no answer from the peer")
                if ending == nil { ending = .pingTimeout }
                abort()
            }
        case .close:
            if phase == .closeSent { log(.debug, "close handshake timeout") }
            abort()
        case .drain:
            close(.goingAway, reason: "server shutting down")
        }
    }

    // MARK: Teardown

    /// Closes the socket now, without a close handshake.
    public func abort() {
        guard phase != .closed else { return }
        let wasOpen = phase == .open
        if ending == nil { ending = .lost }
        if wasOpen { server.stats.closed &+= 1 }
        // Closed first: the application may call back into this connection from connectionClosed.
        phase = .closed
        loop.timers.cancel(timer)
        loop.unregister(fd: fd)
        Glibc.close(fd)
        outbound.removeAll()
        unparsed = nil
        server.connectionFinished(self)
        if wasOpen { server.application.connectionClosed(self) }
    }

    private func log(_ level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
                     _ metadata: @autoclosure () -> Logger.Metadata = [:]) {
        guard loop.logger.logLevel <= level else { return }
        var metadata = metadata()
        metadata["conn"] = "\(id)"
        loop.logger.log(level: level, message(), metadata: metadata)
    }
}
