import LightScopeCore
import LightScopeSystemd

/// Writes each event as one log line (until the store and journal sinks are wired in).
final class LoggingEventSink: EventSink {
    func submit(_ event: UnwantedEvent) {
        Log.notice("unwanted \(event.proto.rawValue) \(event.source) -> \(event.destination.map { "\($0)" } ?? "*"):\(event.destinationPort.map { "\($0)" } ?? "*") \(event.verdict.rawValue) (\(event.packets) packets)")
    }
}
