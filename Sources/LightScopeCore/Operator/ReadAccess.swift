/// What the operator commands say when the daemon's files are closed to the caller: the
/// runtime directory is 0750 and the state belongs to the daemon's user, so an admin who is
/// neither root nor in group adm (Debian's group for reading logs) cannot read them. Said in
/// these words by `status`, the store commands and `doctor`, so a running daemon is never
/// reported as stopped, or a store as missing, for want of permission.
public enum ReadAccess {
    public static let permissionDenied = "permission denied: run as root or as a member of group adm"

    /// errno values that mean "not for you" rather than "not there".
    public static func isDenied(_ errorNumber: Int32) -> Bool {
        errorNumber == 13 /* EACCES */ || errorNumber == 1 /* EPERM */
    }
}
