import CSystem
import Glibc
import Reactor

/// One worker as the coordinator sees it: this executable run again with `--worker-index`, its
/// stdin and stdout piped to us. Its stderr is ours, so its messages reach the terminal as they are.
final class WorkerProcess {
    let index: Int
    let pid: pid_t
    private let commands: Int32
    private var reader: LineReader?

    init(index: Int, arguments: [String], loop: EventLoop, onEvent: @escaping (WorkerEvent) -> Void,
         onEnd: @escaping () -> Void) throws(SwarmError) {
        self.index = index
        var toWorker: [Int32] = [0, 0], fromWorker: [Int32] = [0, 0]
        guard pipe(&toWorker) == 0, pipe(&fromWorker) == 0 else { throw SwarmError("\(SystemError("pipe"))") }
        // Close-on-exec, so each worker gets its own two pipes (as 0 and 1) and no other worker's.
        for fd in toWorker + fromWorker { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toWorker[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromWorker[1], 1)
        let argv = ([CommandLine.arguments[0]] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, "/proc/self/exe", &actions, nil, argv, environ)
        close(toWorker[0])
        close(fromWorker[1])
        guard status == 0 else {
            close(toWorker[1])
            close(fromWorker[0])
            throw SwarmError("cannot start worker \(index): \(SystemError("posix_spawn", errno: status))")
        }
        pid = child
        commands = toWorker[1]
        do {
            reader = try LineReader(fd: fromWorker[0], loop: loop, onLine: { line in
                do {
                    onEvent(try WorkerEvent(line: line))
                } catch {
                    onEvent(.failed("worker \(index): \(error)"))
                }
            }, onEnd: onEnd)
        } catch {
            throw SwarmError("cannot watch worker \(index): \(error)")
        }
    }

    func send(_ command: WorkerCommand) {
        _ = writeAll(commands, command.line)
    }

    /// Ends the worker: closing its stdin tells it to exit; SIGTERM makes sure.
    func stop() {
        close(commands)
        kill(pid, SIGTERM)
    }

    /// Waits for the worker to exit; true when it exited 0.
    func wait() -> Bool {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, csystem_errno() == EINTR {}
        // WIFEXITED and WEXITSTATUS are macros Swift cannot import.
        return status & 0x7F == 0 && (status >> 8) & 0xFF == 0
    }
}
