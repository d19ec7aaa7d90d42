// Echo and broadcast peers on hummingbird-websocket, for load tests next to `relay echo`.
//
// usage: hummingbird-peer echo|broadcast PORT
//
// One event loop, like the other peers and `relay echo --loops 1`. The WebSocket handlers are async
// and run on Swift Concurrency's pool, as in any Hummingbird app, so pin the process to one core
// (taskset) to compare it with single-threaded servers. Making the loop the global executor
// (NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor) would
// leave one thread, but measured slower here (medians of 5 short wsload runs: echo 38k vs 49k
// msg/s, fan-out to 1000 86k vs 103k deliveries/s).
// No compression, no server pings, any path upgrades, loopback only.
import Hummingbird
import HummingbirdWebSocket
import NIOPosix
import Synchronization

/// The writers of every open connection, for broadcast.
final class Clients: Sendable {
    private let state = Mutex<(nextID: Int, writers: [Int: WebSocketOutboundWriter])>((0, [:]))

    func add(_ writer: WebSocketOutboundWriter) -> Int {
        state.withLock { state in
            state.nextID += 1
            state.writers[state.nextID] = writer
            return state.nextID
        }
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.writers.removeValue(forKey: id) }
    }

    var writers: [Int: WebSocketOutboundWriter] { state.withLock { $0.writers } }
}

extension WebSocketOutboundWriter.OutboundFrame {
    init(_ message: WebSocketMessage) {
        switch message {
        case .text(let text): self = .text(text)
        case .binary(let buffer): self = .binary(buffer)
        }
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, ["echo", "broadcast"].contains(arguments[1]), let port = Int(arguments[2]) else {
    print("usage: hummingbird-peer echo|broadcast PORT")
    exit(2)
}
let broadcast = arguments[1] == "broadcast"

let maxMessageSize = 1 << 24  // 16 MiB, as `relay echo`
let clients = Clients()
let app = Application(
    router: Router(),
    server: .http1WebSocketUpgrade(
        configuration: .init(ws: .init(maxFrameSize: maxMessageSize, autoPing: .disabled))
    ) { _, _, _ in
        .upgrade([:]) { inbound, outbound, _ in
            guard broadcast else {
                for try await message in inbound.messages(maxSize: maxMessageSize) {
                    try await outbound.write(.init(message))
                }
                return
            }
            let id = clients.add(outbound)
            defer { clients.remove(id) }
            for try await message in inbound.messages(maxSize: maxMessageSize) {
                let frame = WebSocketOutboundWriter.OutboundFrame(message)
                // A client that went away meanwhile must not stop the others' deliveries.
                for writer in clients.writers.values {
                    try? await writer.write(frame)
                }
            }
        }
    },
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
    eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 1))
)
try await app.runService()
