import Buffers
import CSystem
import Glibc
import JSON
import Logging
import Reactor
import WebSocket

/// One plain HTTP/1.1 request and its response on the reactor, for the admin listener: a bounded
/// head (HTTPRequestParser), a body of at most `maxBodyBytes` by Content-Length, a deadline for
/// the whole request, then one response and the connection closes. No keep-alive: the server API
/// is called rarely and from the API's own servers.
public final class HTTPConnection: EventHandler, Flushable {
    /// Answers the request: `respond(status, json)`, or `respond.text(...)` for another type.
    public struct Respond: Sendable {
        let write: @Sendable (HTTPStatus, [UInt8], String) -> Void

        public func callAsFunction(_ status: HTTPStatus, _ json: [UInt8]) { write(status, json, "application/json") }

        public func text(_ status: HTTPStatus, _ body: [UInt8], contentType: String) { write(status, body, contentType) }
    }

    public typealias Handler = (_ head: HTTPRequestHead, _ body: [UInt8], _ respond: Respond) -> Void

    let fd: Int32
    unowned let loop: EventLoop
    let maxBodyBytes: Int
    let handler: Handler
    private var parser: HTTPRequestParser
    private let input = ByteBuffer(capacity: 1024)
    private var head: HTTPRequestHead?
    private var bodyStart = 0
    private var bodyLength = 0
    private var outbound = OutboundQueue()
    private var responded = false
    private var closed = false
    private var flushScheduled = false
    /// The response is out and our FIN sent: what the client still sends is read and discarded
    /// until its FIN (or the deadline), so a refused upload sees the response, not a reset.
    private var lingering = false
    private lazy var deadline = LoopTimer { [unowned self] in self.timedOut() }
    /// Called once the connection is closed (for the listener's bookkeeping).
    var onClose: ((HTTPConnection) -> Void)?

    public init(fd: Int32, loop: EventLoop, limits: HTTPRequestParser.Limits, maxBodyBytes: Int, timeout: UInt64,
                handler: @escaping Handler) throws {
        self.fd = fd
        self.loop = loop
        self.maxBodyBytes = maxBodyBytes
        self.handler = handler
        parser = HTTPRequestParser(limits: limits)
        try loop.register(fd: fd, handler: self, events: UInt32(EPOLLIN.rawValue))
        loop.timers.schedule(deadline, after: timeout, now: loop.now)
    }

    public func handleEvents(_ events: UInt32) {
        if events & UInt32(EPOLLOUT.rawValue) != 0 { flush() }
        if lingering, !closed { return discardInput() }
        guard !closed, !responded else { return }
        if events & UInt32(EPOLLIN.rawValue) != 0 { readInput() } else if events & UInt32(EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { close() }
    }

    private func readInput() {
        let room = max(1024, (head == nil ? parser.limits.maxHeadBytes : bodyStart + bodyLength) - input.readableBytes)
        input.reserveWritable(room)
        let count = read(fd, input.writableSpace.baseAddress!, min(room, input.writableSpace.count))
        if count < 0 {
            let error = csystem_errno()
            if error == EAGAIN || error == EINTR { return }
            return close()
        }
        if count == 0 { return close() }
        input.commitWritten(count)
        if head == nil {
            switch parser.parse(input.readableView) {
            case .needMore:
                return
            case .failure(let status, _):
                return respond(status, Self.error(status, "malformed request"))
            case .complete(let parsed, let consumed):
                head = parsed
                bodyStart = consumed
                let lengths = parsed.values("Content-Length")
                if !parsed.values("Transfer-Encoding").isEmpty {
                    return respond(.notImplemented, Self.error(.notImplemented, "send the body with Content-Length"))
                }
                guard lengths.count <= 1, let length = Int(lengths.first ?? "0"), length >= 0 else {
                    return respond(.badRequest, Self.error(.badRequest, "bad Content-Length"))
                }
                guard length <= maxBodyBytes else {
                    return respond(.contentTooLarge, Self.error(.contentTooLarge, "the body is over \(maxBodyBytes) bytes"))
                }
                bodyLength = length
            }
        }
        guard let head, input.readableBytes >= bodyStart + bodyLength else { return }
        let body = Array(UnsafeRawBufferPointer(rebasing: input.readableView[bodyStart..<(bodyStart + bodyLength)]))
        responded = true
        loop.modify(fd: fd, events: 0)
        let this = LoopBound(self, loop: loop.index)
        handler(head, body, Respond { status, body, type in this.value.write(status, body, contentType: type) })
    }

    private func respond(_ status: HTTPStatus, _ json: [UInt8]) {
        responded = true
        write(status, json, contentType: "application/json")
    }

    private func write(_ status: HTTPStatus, _ body: [UInt8], contentType: String) {
        guard !closed else { return }
        let response = HTTPResponse.make(status, body: String(decoding: body, as: UTF8.self), contentType: contentType)
        response.withUnsafeBytes { outbound.append($0, arena: loop.arena) }
        if !flushScheduled {
            flushScheduled = true
            loop.scheduleFlush(self)
        }
    }

    public func flush() {
        flushScheduled = false
        guard !closed else { return }
        switch loop.write(&outbound, to: fd) {
        case .drained:
            lingering = true
            shutdown(fd, Int32(SHUT_WR))
            loop.modify(fd: fd, events: UInt32(EPOLLIN.rawValue))
            loop.timers.schedule(deadline, after: 1_000_000_000, now: loop.now)
        case .wouldBlock: loop.modify(fd: fd, events: UInt32(EPOLLOUT.rawValue))
        case .failed: close()
        }
    }

    private func discardInput() {
        let count = read(fd, loop.readBuffer.baseAddress, loop.readBuffer.count)
        if count == 0 || (count < 0 && csystem_errno() != EAGAIN && csystem_errno() != EINTR) { close() }
    }

    private func timedOut() {
        if responded { return close() }
        respond(.requestTimeout, Self.error(.requestTimeout, "the request did not arrive in time"))
    }

    func close() {
        guard !closed else { return }
        closed = true
        loop.timers.cancel(deadline)
        loop.unregister(fd: fd)
        Glibc.close(fd)
        outbound.removeAll()
        onClose?(self)
    }

    /// `{"error": {"code": ..., "message": ...}}` with the status's name as code.
    public static func error(_ status: HTTPStatus, _ message: String, code: String? = nil) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("error")
        writer.beginObject()
        writer.key("code"); writer.string(code ?? status.reason.lowercased().split(separator: " ").joined(separator: "_"))
        writer.key("message"); writer.string(message)
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }
}
