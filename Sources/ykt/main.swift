import YKTCLI
#if canImport(Glibc)
import Glibc
#endif

// The executable is thin: everything lives in YKTCLI and the libraries it uses.
exit(YKTCommandLine.main(Array(CommandLine.arguments.dropFirst())))
