import Foundation

/// Path joining without going through `URL` (which percent-encodes Chinese file names in
/// messages).
struct NSStringPath {
    let path: String
    init(_ path: String) { self.path = path }
    func appending(_ component: String) -> String { (path as NSString).appendingPathComponent(component) }
}

