import Glibc
import Reactor

/// What the kernel knows about processes: this one's CPU time, a server's resident memory.
enum ProcessStats {
    /// User plus system CPU seconds this process has used.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }

    /// Busy and total time of each core since boot, in clock ticks (/proc/stat). Busy includes
    /// softirq time: loopback TCP work is largely that, and no process is charged for it.
    static func coreTimes() -> [(busy: UInt64, total: UInt64)] {
        guard let text = FileBytes.read("/proc/stat").map({ String(decoding: $0, as: UTF8.self) }) else { return [] }
        return text.split(separator: "\n").filter { $0.hasPrefix("cpu") && !$0.hasPrefix("cpu ") }.map { line in
            let ticks = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
            let total = ticks.reduce(0, +)
            // idle and iowait are the fourth and fifth fields.
            let idle = ticks.count > 4 ? ticks[3] + ticks[4] : total
            return (total - idle, total)
        }
    }

    /// VmRSS of `pid` in KiB, from /proc.
    static func residentKiB(pid: Int32) -> Int? {
        guard let text = FileBytes.read("/proc/\(pid)/status").map({ String(decoding: $0, as: UTF8.self) }),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.dropFirst(6).filter(\.isNumber))
    }
}

/// CPU use over the measured window, sampled by loop timers at both ends: this process's user and
/// system time (the fraction of one core it kept busy shows whether the swarm, not the server,
/// was the limit), and how busy each core of the machine was.
final class CPUWindow {
    private struct Sample {
        var process = ProcessStats.cpuSeconds()
        var cores = ProcessStats.coreTimes()
    }

    private var start = Sample()
    private var end: Sample?
    private let wall: Double
    private var timers: [LoopTimer] = []

    init(loop: EventLoop, from: UInt64, until: UInt64) {
        wall = Double(until - from) / 1e9
        let now = Clock.now()
        let startTimer = LoopTimer { [unowned self] in start = Sample() }
        let endTimer = LoopTimer { [unowned self] in end = Sample() }
        loop.timers.schedule(startTimer, after: from - min(from, now), now: now)
        loop.timers.schedule(endTimer, after: until - min(until, now), now: now)
        timers = [startTimer, endTimer]
    }

    /// CPU seconds this process used in the window (up to now if it has not ended), and the
    /// window's length.
    var usage: (cpuSeconds: Double, wallSeconds: Double) {
        ((end ?? Sample()).process - start.process, wall)
    }

    /// Each core's busy fraction over the window.
    var coresBusy: [Double] {
        zip(start.cores, (end ?? Sample()).cores).map { before, after in
            after.total > before.total ? Double(after.busy - before.busy) / Double(after.total - before.total) : 0
        }
    }
}
