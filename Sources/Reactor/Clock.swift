import CSystem
import Glibc

/// Monotonic time in nanoseconds.
public enum Clock {
    @inlinable
    public static func now() -> UInt64 { csystem_monotonic_ns() }

    public static func nanoseconds(seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }

    /// Milliseconds since the Unix epoch, for timestamps other processes read (never for timers).
    public static func wallMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
