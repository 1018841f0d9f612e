import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on the embedded database, so two `serve` processes never share one
/// SQLite file (and so a new process may safely reclaim the previous run's job leases).
final class DataDirectoryLock: Sendable {
    private let descriptor: Int32

    init(path: String) throws {
        descriptor = Glibc.open(path, O_CREAT | O_RDWR, 0o600)
        guard descriptor >= 0 else {
            throw ConfigurationError("SWITCHBOARD_DATA_DIR", "cannot create the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(descriptor)
            throw ConfigurationError(
                "SWITCHBOARD_DATA_DIR",
                "another switchboard process is using \(path.dropLast(5)); stop it, or point this one at another data directory or at PostgreSQL"
            )
        }
    }

    deinit { Glibc.close(descriptor) }
}
