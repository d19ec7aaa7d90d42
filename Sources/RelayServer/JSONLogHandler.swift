import Foundation
import Glibc
import JSON
import Logging

/// One JSON object per line on standard error: `{"time":..,"level":..,"message":..,"source":..,
/// ...metadata}`, so log pipelines can index the connection id, loop and reason of every event.
/// Each line is written with one write(2), so lines from different loops never interleave.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.key("time"); writer.string(Self.timestamp())
        writer.key("level"); writer.string(level.rawValue)
        writer.key("message"); writer.string(message.description)
        writer.key("source"); writer.string(source)
        let merged = self.metadata.merging(metadata ?? [:]) { _, call in call }
        for key in merged.keys.sorted() where !["time", "level", "message", "source"].contains(key) {
            writer.key(key)
            Self.write(merged[key]!, to: &writer)
        }
        writer.endObject()
        var bytes = writer.bytes
        bytes.append(0x0A)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    private static func write(_ value: Logger.MetadataValue, to writer: inout JSONWriter) {
        switch value {
        case .string(let string): writer.string(string)
        case .stringConvertible(let convertible): writer.string(convertible.description)
        case .array(let values):
            writer.beginArray()
            for element in values { write(element, to: &writer) }
            writer.endArray()
        case .dictionary(let dictionary):
            writer.beginObject()
            for key in dictionary.keys.sorted() {
                writer.key(key)
                write(dictionary[key]!, to: &writer)
            }
            writer.endObject()
        }
    }

    /// RFC 3339 in UTC with milliseconds.
    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, now.tv_nsec / 1_000_000)
    }
}
