import Glibc

/// The process's limit on open files: every connection is one. Relay raises the soft limit to the
/// hard limit at start, as a server that expects 100k connections must.
public enum FileLimit {
    /// Raises the soft limit to the hard one and returns the limit now in force.
    @discardableResult
    public static func raiseToMaximum() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= UInt(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}
