/// A long-running loop on a thread of its own: a packet loop, the event writer, the metrics
/// listener, the fleet shipper. The runner starts it, reads its heartbeat for the watchdog
/// (`WatchdogPolicy` pings systemd only while every loop beats), and stops it; one way in
/// and one way out, so start-up, reload and shutdown order live in the runner alone.
public protocol SupervisedLoop: AnyObject {
    /// Beaten on every wake-up, work or not; its `loopName` names the loop in logs and status.
    var heartbeat: Heartbeat { get }
    /// Starts the loop's thread. Called once.
    func start()
    /// Asks the loop to end, lets it finish what it holds (flush, commit), and waits. False
    /// when it did not end within `timeout`: it is hung, and is left behind, never killed.
    func stop(timeout: Duration) -> Bool
}

extension SupervisedLoop {
    public var loopName: String { heartbeat.loopName }
}
