// swift-tools-version:6.0
import PackageDescription

// Yikatong (一卡通): one program `ykt`, library modules that tests import, and two
// system libraries (SQLite, OpenSSL 3). No package dependencies, by design.
// Released on Linux, the programs carry the Swift runtime and Foundation in themselves
// (`-static-stdlib`, for every module, as `swift build --static-swift-stdlib` does; linked by the
// toolchain's lld): a command starts in about 4 ms instead of 9, without relocating the shared
// Foundation and ICU libraries, which is much of a small `ykt sync` (docs/performance.md, issue
// 19). The program's own relocations are packed (`-z pack-relative-relocs`, RELR; glibc 2.36 reads
// them): the loader walks a bitmap instead of a table of a few hundred thousand entries, and
// the program stays position-independent. The C++ runtime the Swift runtime uses is linked in
// too, from GCC's `libstdc++.a`: `link/libstdc++.so` is a one-line linker script that the
// toolchain's `-lstdc++` finds first (Debian's libstdc++-N-dev, which the toolchain needs anyway,
// ships it; a distribution that packages it apart, as libstdc++-static, needs that package).
// YKT_SHARED_STDLIB=1 in the environment builds against the shared libraries (fuzz/run.sh).
let staticStdlib = Context.environment["YKT_SHARED_STDLIB"] == nil
let released = BuildSettingCondition.when(platforms: [.linux], configuration: .release)
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)] + (staticStdlib ? [.unsafeFlags(["-static-stdlib"], released)] : [])
let linked: [LinkerSetting] = staticStdlib
    ? [.unsafeFlags(["-static-stdlib", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                     "-L\(Context.packageDirectory)/link"], released)] : []

let package = Package(
    name: "Yikatong",
    products: [
        .executable(name: "ykt", targets: ["ykt"]),
    ],
    targets: [
        // System libraries, each behind a module map and a shim header.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),

        // Pure domain rules: IDs, accounts, money, calendar, masking, CSV, text.
        .target(name: "YKTCore", swiftSettings: strict),
        // Hashes and (later) signatures through OpenSSL.
        .target(name: "YKTCrypto", dependencies: ["COpenSSL"], swiftSettings: strict),
        // The SQLite layer.
        .target(name: "YKTStore", dependencies: ["CSQLite"], swiftSettings: strict),
        // What every node has, whichever its role: configuration, signing key, audit trail,
        // backups, files written atomically, CSV screening, the policy-list file, store errors.
        .target(name: "YKTNode", dependencies: ["YKTCore", "YKTStore", "YKTCrypto"], swiftSettings: strict),
        // The township node: register, applications, notices, rosters, outbox, audit.
        .target(name: "YKTTownship", dependencies: ["YKTCore", "YKTStore", "YKTCrypto", "YKTSync", "YKTNode"],
                swiftSettings: strict),
        // Change sets: the signed wire unit of sync, and the receiver's checks (network to come).
        .target(name: "YKTSync", dependencies: ["YKTCore", "YKTCrypto"], swiftSettings: strict),
        // The county node: enrolment, receiving and re-checking change sets, receipts.
        .target(name: "YKTCounty", dependencies: ["YKTCore", "YKTStore", "YKTCrypto", "YKTSync", "YKTNode", "YKTPublic"],
                swiftSettings: strict),
        // Mutual TLS 1.3 over POSIX sockets, and the small request/response framing of sync.
        .target(name: "YKTNet", dependencies: ["COpenSSL", "YKTCrypto"], swiftSettings: strict),
        // The sync transport: the protocol's routes at the county (CountyService, CountyServer),
        // the township's round (TownshipSync), the sync lock and what network failures mean.
        .target(name: "YKTTransport", dependencies: ["YKTNode", "YKTCore", "YKTStore", "YKTCrypto", "YKTSync", "YKTNet", "YKTCounty", "YKTTownship"],
                swiftSettings: strict),
        // The office console: the node's own web pages for clerks, reviewers and approvers (ykt console).
        .target(name: "YKTConsole", dependencies: ["YKTNode", "YKTCore", "YKTStore", "YKTCrypto", "YKTNet", "YKTCounty", "YKTTownship", "YKTTransport"],
                swiftSettings: strict),
        // The public channel: the signed static site, the query store with no clear personal data,
        // and the small public server (ykt publish, ykt public serve). Never opens a node's database.
        .target(name: "YKTPublic", dependencies: ["YKTNode", "YKTCore", "YKTStore", "YKTCrypto", "YKTNet"], swiftSettings: strict),
        // Seeded demo county (policy list, registers, applications, planted defects) and the bank simulator.
        .target(name: "YKTDemo", dependencies: ["YKTNode", "YKTCore", "YKTCounty", "YKTTownship"], swiftSettings: strict),
        // Command-line front end (parsing, output, commands); `ykt` only calls it.
        .target(name: "YKTCLI", dependencies: ["YKTPublic", "YKTConsole", "YKTNode", "YKTCore", "YKTStore", "YKTCrypto", "YKTSync", "YKTTownship", "YKTCounty", "YKTNet", "YKTTransport", "YKTDemo"],
                swiftSettings: strict),
        .executableTarget(name: "ykt", dependencies: ["YKTCLI"], swiftSettings: strict, linkerSettings: linked),
        // Fuzz targets: a replay tool in a normal build; libFuzzer targets in fuzz/run.sh's build.
        // What a broken or hostile township sends, for the integration scenarios (integration/sync.sh).
        .executableTarget(name: "ykt-hostile", dependencies: ["YKTNode", "YKTCore", "YKTCrypto", "YKTNet", "YKTSync", "YKTTownship"],
                          path: "integration/ykt-hostile", swiftSettings: strict, linkerSettings: linked),
        .executableTarget(name: "ykt-fuzz", dependencies: ["YKTNode", "YKTCore", "YKTCrypto", "YKTSync", "YKTCounty"], path: "fuzz/ykt-fuzz",
                          swiftSettings: strict, linkerSettings: linked),

        // How tests play named operators (accounts made by an administrator, keys unlocked).
        .target(name: "YKTTestSupport", dependencies: ["YKTNode", "YKTCore", "YKTCrypto", "YKTStore", "YKTTownship"], path: "Tests/Support", swiftSettings: strict),
        .testTarget(name: "YKTCoreTests", dependencies: ["YKTCore", "YKTTestSupport"], swiftSettings: strict),
        .testTarget(name: "YKTStoreTests", dependencies: ["YKTStore"], swiftSettings: strict),
        .testTarget(name: "YKTTownshipTests", dependencies: ["YKTTestSupport", "YKTNode", "YKTTownship", "YKTCore", "YKTStore", "YKTCrypto", "YKTDemo", "YKTSync",
                                                            "YKTCounty"],
                    swiftSettings: strict),
        .testTarget(name: "YKTSyncTests", dependencies: ["YKTSync", "YKTCore", "YKTCrypto"], swiftSettings: strict),
        .testTarget(name: "YKTCountyTests", dependencies: ["YKTTestSupport", "YKTNode", "YKTCounty", "YKTTownship", "YKTCore", "YKTCrypto", "YKTSync", "YKTNet", "YKTDemo",
                                                          "YKTStore"],
                    swiftSettings: strict),
        .testTarget(name: "YKTTransportTests", dependencies: ["YKTTestSupport", "YKTNode", "YKTTransport", "YKTCounty", "YKTTownship", "YKTCore", "YKTCrypto",
                                                             "YKTSync", "YKTNet", "YKTStore", "YKTDemo"], swiftSettings: strict),
        .testTarget(name: "YKTConsoleTests", dependencies: ["YKTTestSupport", "YKTConsole", "YKTNode", "YKTTownship", "YKTCounty", "YKTCore", "YKTCrypto",
                                                           "YKTSync", "YKTNet", "YKTStore", "YKTDemo", "YKTTransport"], swiftSettings: strict),
        .testTarget(name: "YKTPublicTests", dependencies: ["YKTTestSupport", "YKTPublic", "YKTNode", "YKTCounty", "YKTTownship", "YKTCore", "YKTCrypto",
                                                          "YKTSync", "YKTNet", "YKTStore", "YKTDemo"], swiftSettings: strict),
        .testTarget(name: "YKTNetTests", dependencies: ["YKTNet", "YKTCrypto"], swiftSettings: strict),
        .testTarget(name: "YKTCLITests", dependencies: ["YKTTestSupport", "YKTNode", "ykt", "YKTCLI", "YKTCore", "YKTStore", "YKTDemo", "YKTTownship",
                                                       "YKTSync", "YKTNet", "YKTCrypto", "YKTCounty"], swiftSettings: strict),
    ]
)
