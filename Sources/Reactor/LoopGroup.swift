import CSystem
import Glibc
import Logging
import Synchronization

/// N event loops on N threads, shared-nothing. Each thread builds its own loop and runs `setup`
/// on it (register listeners, start timers) before its first turn.
public final class LoopGroup: Sendable {
    public let count: Int
    private let logger: Logger
    private let handles = Locked<[LoopHandle?]>([])
    private let finished = Locked(0)

    public init(count: Int, logger: Logger) {
        self.count = max(1, count)
        self.logger = logger
    }

    /// Blocks SIGINT/SIGTERM/SIGHUP (they go through a SignalWatcher) and ignores SIGPIPE for the
    /// calling thread and every thread created after. Call first thing in `main`.
    public static func prepareProcessSignals() {
        _ = csystem_block_signals()
    }

    public static var processorCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Starts every loop and returns once all of them ran `setup` (or one failed, whose error is
    /// thrown after the others were stopped).
    public func start(setup: @escaping @Sendable (EventLoop) throws -> Void) throws -> [LoopHandle] {
        handles.withLock { $0 = Array(repeating: nil, count: count) }
        let ready = Locked<(done: Int, error: Error?)>((0, nil))
        for index in 0..<count {
            let logger = self.logger
            let handles = self.handles, finished = self.finished
            spawnThread {
                do {
                    let loop = try EventLoop(index: index, logger: logger)
                    handles.withLock { $0[index] = loop.handle }
                    do {
                        try setup(loop)
                    } catch {
                        ready.withLock { $0.done += 1; $0.error = $0.error ?? error }
                        return
                    }
                    ready.withLock { $0.done += 1 }
                    loop.run()
                    loop.context = nil
                    finished.withLock { $0 += 1 }
                } catch {
                    ready.withLock { $0.done += 1; $0.error = $0.error ?? error }
                }
            }
        }
        while true {
            let (done, error) = ready.withLock { ($0.done, $0.error) }
            if let error {
                stopAll()
                throw error
            }
            if done == count { break }
            usleep(1000)
        }
        return handles.withLock { $0.compactMap { $0 } }
    }

    /// Blocks the calling thread until every loop has returned from `run()`.
    public func waitUntilStopped() {
        while finished.withLock({ $0 }) < count { usleep(20_000) }
    }

    public func stopAll() {
        for handle in handles.withLock({ $0.compactMap { $0 } }) { handle.stop() }
    }
}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

private func spawnThread(_ body: @escaping @Sendable () -> Void) {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { context in
        let box = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
        box.body()
        return nil
    }, context)
    precondition(result == 0, "pthread_create failed: \(result)")
    pthread_detach(thread)
}

