#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A usage or input error with a message for stderr.
struct BenchError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// The whole content of the file at `path`.
func readFile(_ path: String) throws(BenchError) -> [UInt8] {
  guard let file = fopen(path, "rb") else {
    throw BenchError("cannot open \(path): \(String(cString: strerror(errno)))")
  }
  defer { fclose(file) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65_536)
  while true {
    let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
    if count == 0 { break }
    bytes += chunk[0..<count]
  }
  guard ferror(file) == 0 else { throw BenchError("cannot read \(path)") }
  return bytes
}

func fileExists(_ path: String) -> Bool {
  access(path, F_OK) == 0
}

func printError(_ message: String) {
  var line = message + "\n"
  line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

/// `value` with thousands separated by commas.
func grouped(_ value: Int) -> String {
  let digits = String(value.magnitude)
  var out = ""
  for (index, digit) in digits.enumerated() {
    if index > 0, (digits.count - index) % 3 == 0 { out += "," }
    out.append(digit)
  }
  return (value < 0 ? "-" : "") + out
}

/// Keeps a value alive and opaque to the optimiser, so measured work is not thrown away.
@inline(never)
func consume<T>(_ value: T) {
  withExtendedLifetime(value) {}
}

/// The running time of a Duration in seconds.
extension Duration {
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}

/// The median of `values` (the mean of the middle two for an even count).
func medianOf(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  guard !sorted.isEmpty else { return .nan }
  let middle = sorted.count / 2
  return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
