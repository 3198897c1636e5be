import Foundation
import YKTCore
import YKTCrypto
import YKTNode

#if canImport(Glibc)
import Glibc
#endif

/// Passwords from the terminal (not echoed) or from standard input (`--password-stdin`), and
/// the session file that keeps a login between commands.
extension Invocation {
    /// The passwords given on standard input, one per line (read once): the operator's own first,
    /// then, for commands that set one, the new password.
    func stdinPasswords() throws(YKTError) -> [String] {
        if let cachedPasswords { return cachedPasswords }
        let data = FileHandle.standardInput.readData(ofLength: 8_192)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        cachedPasswords = lines
        return lines
    }

    /// The password numbered `index` (0: the operator's own; 1: a new one), from standard input
    /// with `--password-stdin`, else asked for on the terminal.
    func password(_ index: Int, prompt: String) throws(YKTError) -> String {
        if flag("password-stdin") {
            let lines = try stdinPasswords()
            guard index < lines.count, !lines[index].isEmpty else {
                throw YKTError(.authSign, "--password-stdin：标准输入第 \(index + 1) 行应为\(prompt)，却是空的",
                               at: SourceLocation(field: "--password-stdin"),
                               hint: index == 0 ? "第 1 行写本人口令" : "第 1 行写本人口令，第 2 行写新口令")
            }
            return lines[index]
        }
        guard isatty(STDIN_FILENO) == 1, let tty = Terminal.readSecret(prompt: prompt + "：") else {
            throw YKTError(.authSign, "须输入\(prompt)，但没有终端可以询问", at: SourceLocation(field: "--password-stdin"),
                           hint: "在终端运行，或在脚本中用 --password-stdin 从标准输入给出（口令文件权限 0600）")
        }
        return tty
    }

    /// Where this operator's session for this node is kept: `YKT_SESSION`, or a file under
    /// `~/.ykt/sessions/` named after the node directory.
    var sessionPath: String {
        if let p = environment["YKT_SESSION"], !p.isEmpty { return p }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        let dir = nodeDirectory ?? ""
        let absolute = (realpath(dir, nil)).map { p in defer { free(p) }; return String(cString: p) } ?? dir
        return home + "/.ykt/sessions/" + SHA256.hex(absolute).prefix(16)
    }

    func writeSession(token: String) throws(YKTError) {
        let path = sessionPath
        let dir = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw YKTError(.fileWrite, "不能建立会话目录：\(error.localizedDescription)", at: SourceLocation(file: dir))
        }
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw YKTError(.fileWrite, "不能写会话文件：\(String(cString: strerror(errno)))", at: SourceLocation(file: path))
        }
        defer { close(fd) }
        let bytes = Array((token + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw YKTError(.fileWrite, "不能写会话文件：\(String(cString: strerror(errno)))", at: SourceLocation(file: path))
        }
    }

    /// The session token, from a file only this user can read; nil when there is none.
    func readSession() throws(YKTError) -> String? {
        let path = sessionPath
        // Opened without following a link, then checked on the descriptor read from: nothing can
        // be swapped in between.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw YKTError(.authLogin, "会话文件不安全或无法读取（\(String(cString: strerror(errno)))）", at: SourceLocation(file: path),
                           hint: "删除这个文件后用 ykt login 重新登录")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == getuid(), st.st_mode & 0o077 == 0 else {
            throw YKTError(.authLogin, "会话文件不安全（不是本人所有的普通文件，或别人可读）", at: SourceLocation(file: path),
                           hint: "删除这个文件后用 ykt login 重新登录")
        }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        let token = String(decoding: buffer.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    func removeSession() { unlink(sessionPath) }

    /// Checks who runs this command before it runs: the session, the role, and for a decision
    /// the password (which unlocks the operator's signing key).
    func authorize() throws {
        guard let access = Access.of(spec) else {
            throw YKTError(.internalError, "命令「ykt \(spec.path.joined(separator: " "))」没有登记所需角色")
        }
        if environment["YKT_OPERATOR"]?.isEmpty == false {
            throw YKTError(.usage, "YKT_OPERATOR 已停用：经办人由登录决定", hint: "取消环境变量 YKT_OPERATOR，用 ykt login 登录本人账户")
        }
        switch access {
        case .open: return
        case .service:
            acting = Access.serviceName
            return
        case .loggedIn, .roles:
            break
        }
        let nodeRole = try role()
        guard let token = try readSession() else {
            throw YKTError(.authLogin, "没有登录：「ykt \(spec.path.joined(separator: " "))」须由登录的经办人办理",
                           hint: "先用 ykt login --login 登录名 登录（脚本中加 --password-stdin）")
        }
        let node: any OperatorNode = nodeRole == .county ? try county() : try self.node()
        let session = try node.act(session: token)
        acting = session.login
        // A password an administrator chose is changed before anything else is done with it.
        if try node.operators.mustChange(session.login), !["password", "logout", "whoami"].contains(spec.path.joined(separator: " ")) {
            throw YKTError(.authChange, "\(session.login) 的口令是管理员设定的初始口令，须先改为本人的口令",
                           hint: "运行 ykt password（终端中输入原口令和新口令；脚本中用 --password-stdin，第 1 行原口令、第 2 行新口令）")
        }
        guard case .roles(let roles, _) = access else { return }
        let held = session.grants.filter { roles.contains($0.role) && $0.role.applies(to: nodeRole) }
        guard !held.isEmpty else {
            let needed = OperatorRole.allCases.filter { roles.contains($0) && $0.applies(to: nodeRole) }.map(\.chinese)
            let mine = session.grants.isEmpty ? "没有任何角色" : "的角色是 " + session.grants.map(\.description).joined(separator: "、")
            throw YKTError(.roleMissing, "「ykt \(spec.path.joined(separator: " "))」须由\(needed.joined(separator: "或"))办理；\(session.login) \(mine)",
                           hint: "请有这个角色的人登录办理；角色由管理员用 ykt operator grant 授予")
        }
        if access.signs(on: nodeRole) {
            node.signer = try node.operators.authenticate(session.login, password: try password(0, prompt: "本人口令（签名）"))
        }
    }
}

/// Reading a secret from the controlling terminal without echo.
enum Terminal {
    static func readSecret(prompt: String) -> String? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var old = termios()
        guard tcgetattr(fd, &old) == 0 else { return nil }
        var quiet = old
        quiet.c_lflag &= ~tcflag_t(ECHO)
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        guard tcsetattr(fd, TCSAFLUSH, &quiet) == 0 else { return nil }
        defer {
            _ = tcsetattr(fd, TCSAFLUSH, &old)
            _ = write(fd, "\n", 1)
        }
        var bytes: [UInt8] = []
        var c: UInt8 = 0
        while read(fd, &c, 1) == 1, c != 0x0A, bytes.count < 1024 { bytes.append(c) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Access {
    static func of(_ spec: CommandSpec) -> Access? { of(spec.path.joined(separator: " ")) }
}
