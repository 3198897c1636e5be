#if canImport(Glibc)
import Glibc
#endif

/// Named moments at which a test can have the process killed, to prove that work interrupted
/// there is completed (or undone) by the next run. Set `YKT_CRASH_AT` to a point's name and the
/// process sends itself `SIGKILL` on reaching it: no `defer`, no clean-up, as a power cut or the
/// OOM killer. Unset (always, outside tests), a crash point costs one `getenv`.
///
/// Points (docs/reliability.md): `dispatch.staged` (instruction file staged, batch not yet
/// committed), `dispatch.committed` (batch dispatched, file not yet renamed into place),
/// `dispatch.placed` (file in place, not yet recorded as placed).
public enum CrashPoint {
    public static func here(_ name: String) {
        guard let set = getenv("YKT_CRASH_AT"), String(cString: set) == name else { return }
        kill(getpid(), SIGKILL)
    }
}
