import Auth
import Glibc
import JSON
import Reactor
import TLS
import WebSocket

/// The coordinator's own publishing connection. `.gateway`: relay.v1 as user `swarm-publisher`,
/// subscribed to every channel (a namespace with `publish: subscribers` lets only subscribers
/// publish), sending `publish` commands whose replies accept or refuse them. `.raw`: binary
/// frames to a broadcast server (`relay echo --broadcast` or a peer's), which has nothing to
/// answer: a frame written is a publication made.
final class SocketTransport: PublicationTransport, WebSocketClientDelegate {
    enum Mode {
        case gateway(signer: TokenSigner, channels: [String])
        case raw(size: Int)
    }

    private unowned let loop: EventLoop
    private let mode: Mode
    private let endpoint: Endpoint
    private let tls: TLSClientContext?
    private var client: WebSocketClient?
    private var nextID: Int64 = 1
    /// Gateway: the connect and subscribe replies still awaited before publishing starts.
    private var setupReplies = 0
    private var pending: [Int64: (PublishOutcome) -> Void] = [:]
    private var ready: (() -> Void)?
    private var failed: ((String) -> Void)?
    let capacity: Int

    init(loop: EventLoop, mode: Mode, endpoint: Endpoint, tls: TLSClientContext?, capacity: Int) {
        self.loop = loop
        self.mode = mode
        self.endpoint = endpoint
        self.tls = tls
        self.capacity = capacity
    }

    /// Connects (and with relay.v1 authenticates and subscribes), then calls `ready`.
    func open(ready: @escaping () -> Void, failed: @escaping (String) -> Void) {
        self.ready = ready
        self.failed = failed
        let subprotocols: [String]
        if case .gateway = mode { subprotocols = [RelaySession.subprotocol] } else { subprotocols = [] }
        do {
            client = try WebSocketClient(tag: 0, loop: loop, endpoint: endpoint, tls: tls, source: nil, subprotocols: subprotocols,
                                         maxMessageSize: 1 << 20, delegate: self)
        } catch {
            failed("the publisher cannot connect to \(endpoint): \(error)")
        }
    }

    func publish(channel: String, sequence: UInt64, sentAt: UInt64, answered: @escaping (PublishOutcome) -> Void) {
        guard let client else { return answered(.refused(kind: "publisher_closed", message: "the publishing connection is closed")) }
        switch mode {
        case .raw(let size):
            client.send(.binary, count: size) { PublicationPayload.writeRaw(into: $0, sentAt: sentAt, sequence: sequence) }
            answered(.accepted)
        case .gateway:
            let id = nextID
            nextID += 1
            pending[id] = answered
            client.send(.text, payload: RelaySession.command(id: id, "publish") { writer in
                writer.key("channel"); writer.string(channel)
                writer.key("data")
                PublicationPayload.writeJSON(into: &writer, sentAt: sentAt, sequence: sequence)
            })
        }
    }

    // MARK: WebSocketClientDelegate

    func clientSecured(_ client: WebSocketClient, resumed: Bool) {}

    func clientOpened(_ client: WebSocketClient) {
        guard case .gateway(let signer, let channels) = mode else { return becomeReady() }
        guard client.subprotocol == RelaySession.subprotocol else { return fail("the server did not accept the subprotocol relay.v1") }
        let token: String
        do {
            token = try signer.sign(claims: ["sub": "swarm-publisher", "exp": time(nil) + 3600])
        } catch {
            return fail("cannot mint the publisher's token: \(error)")
        }
        setupReplies = 1 + channels.count
        client.send(.text, payload: RelaySession.command(id: nextID, "connect") { $0.key("token"); $0.string(token) })
        nextID += 1
        for channel in channels {
            client.send(.text, payload: RelaySession.command(id: nextID, "subscribe") { $0.key("channel"); $0.string(channel) })
            nextID += 1
        }
    }

    func client(_ client: WebSocketClient, received opcode: Opcode, payload: UnsafeRawBufferPointer) {
        // Raw: the broadcast of our own frames. Gateway: pushes of our own publications.
        guard case .gateway = mode, opcode == .text, !payload.starts(with: #"{"push""#.utf8),
              let message = try? JSONParser.parse(payload), let id = message["id"]?.int64 else { return }
        let refusal = message["error"].map { error in
            (code: error["code"]?.string ?? "unknown", message: error["message"]?.string ?? "")
        }
        if setupReplies > 0 {
            if let refusal { return fail("the publisher's setup was refused: \(refusal.code) \(refusal.message)") }
            setupReplies -= 1
            if setupReplies == 0 { becomeReady() }
            return
        }
        guard let answered = pending.removeValue(forKey: id) else { return }
        if let refusal {
            answered(.refused(kind: "publish_\(refusal.code)", message: "the publish command was refused: \(refusal.code) \(refusal.message)"))
        } else {
            answered(.accepted)
        }
    }

    func clientEnded(_ client: WebSocketClient, _ failure: ClientFailure) {
        self.client = nil
        if ready != nil { return fail("the publisher's connection ended during setup: \(failure)") }
        let waiting = pending.values
        pending = [:]
        for answered in waiting { answered(.refused(kind: "publisher_\(failure.kind)", message: "the publishing connection ended: \(failure)")) }
    }

    private func becomeReady() {
        let ready = self.ready
        self.ready = nil
        ready?()
    }

    private func fail(_ message: String) {
        ready = nil
        failed?(message)
    }
}
