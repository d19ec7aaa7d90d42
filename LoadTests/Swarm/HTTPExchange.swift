import CSystem
import Glibc
import Reactor

/// One HTTP/1.1 request on its own TCP connection, on the loop: the admin listener answers one
/// request per connection and closes, so the response ends at end of stream.
final class HTTPExchange: EventHandler {
    enum Outcome {
        /// The status code and the body.
        case response(Int, String)
        case failed(kind: String, String)
    }

    private let fd: Int32
    private unowned let loop: EventLoop
    private var request: [UInt8]
    private var written = 0
    private var response: [UInt8] = []
    private var connected = false
    private var done = false
    private let completion: (Outcome) -> Void
    private lazy var deadline = LoopTimer { [unowned self] in self.finish(.failed(kind: "timeout", "no response in time")) }
    private static let maxResponseBytes = 64 * 1024

    init(loop: EventLoop, endpoint: Endpoint, request: [UInt8], timeout: UInt64,
         completion: @escaping (Outcome) -> Void) throws(SystemError) {
        self.loop = loop
        self.request = request
        self.completion = completion
        fd = try TCPConnect.start(to: endpoint, from: nil)
        do {
            try loop.register(fd: fd, handler: self, events: UInt32(EPOLLOUT.rawValue))
        } catch {
            Glibc.close(fd)
            throw (error as? SystemError) ?? SystemError("epoll_ctl")
        }
        loop.timers.schedule(deadline, after: timeout, now: Clock.now())
    }

    /// `POST path` with a JSON body and a bearer token.
    static func post(_ endpoint: Endpoint, path: String, bearer: String, json: [UInt8]) -> [UInt8] {
        let head = "POST \(path) HTTP/1.1\r\nHost: \(endpoint.authority)\r\nAuthorization: Bearer \(bearer)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(json.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + json
    }

    func handleEvents(_ events: UInt32) {
        guard !done else { return }
        if !connected {
            let error = TCPConnect.pendingError(fd)
            guard error == 0 else { return finish(.failed(kind: "connect_\(ErrnoName.of(error))", SystemError("connect", errno: error).description)) }
            connected = true
        }
        if written < request.count { return writeRequest() }
        readResponse()
    }

    private func writeRequest() {
        let count = request.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if count < 0 {
            let error = csystem_errno()
            if error == EAGAIN || error == EINTR { return }
            return finish(.failed(kind: "write_\(ErrnoName.of(error))", SystemError("write", errno: error).description))
        }
        written += count
        if written == request.count { loop.modify(fd: fd, events: UInt32(EPOLLIN.rawValue)) }
    }

    private func readResponse() {
        let buffer = loop.readBuffer
        let count = read(fd, buffer.baseAddress!, buffer.count)
        if count > 0 {
            response.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            if response.count > Self.maxResponseBytes { finish(.failed(kind: "response_too_large", "response over \(Self.maxResponseBytes) bytes")) }
            return
        }
        if count < 0 {
            let error = csystem_errno()
            if error == EAGAIN || error == EINTR { return }
            return finish(.failed(kind: "read_\(ErrnoName.of(error))", SystemError("read", errno: error).description))
        }
        finish(parse())
    }

    private func parse() -> Outcome {
        let text = String(decoding: response, as: UTF8.self)
        let statusLine = text.prefix { $0 != "\r" && $0 != "\n" }.split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            return .failed(kind: "malformed_response", "not an HTTP response: \(text.prefix(80))")
        }
        let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        let bodyStart = response.count < 4 ? nil : (0...(response.count - 4)).first { response[$0..<($0 + 4)].elementsEqual(separator) }
        return .response(status, bodyStart.map { String(decoding: response[($0 + 4)...], as: UTF8.self) } ?? "")
    }

    private func finish(_ outcome: Outcome) {
        guard !done else { return }
        done = true
        loop.timers.cancel(deadline)
        loop.unregister(fd: fd)
        Glibc.close(fd)
        completion(outcome)
    }
}
