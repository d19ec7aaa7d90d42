import CSystem

/// Monotonic time in nanoseconds.
public enum Clock {
    @inlinable
    public static func now() -> UInt64 { csystem_monotonic_ns() }

    public static func nanoseconds(seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }
}
