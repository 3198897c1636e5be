import Foundation

/// Path joining without going through `URL` (which percent-encodes Chinese file names in
/// messages).
package struct NSStringPath {
    package let path: String
    package init(_ path: String) { self.path = path }
    package func appending(_ component: String) -> String { (path as NSString).appendingPathComponent(component) }
}

