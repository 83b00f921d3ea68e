import Glibc

extension JournaldLogHandler {
  /// Whether standard error is connected to the journal, so a daemon should log through
  /// ``JournaldLogHandler`` rather than as plain text.
  ///
  /// This is the check `systemd.exec(5)` documents: the service manager sets `JOURNAL_STREAM` to
  /// `device:inode` of the stream it connected to the journal, and standard error is that stream
  /// only if `fstat(2)` of it reports the same pair. A variable inherited by a child whose
  /// standard error goes elsewhere (a terminal, a pipe) does not match.
  ///
  /// - Returns: `true` only if `JOURNAL_STREAM` is set, well formed, and names standard error.
  public static func isJournalStream() -> Bool {
    guard let value = getenv("JOURNAL_STREAM") else { return false }
    return isJournalStream(String(cString: value), fileDescriptor: STDERR_FILENO)
  }

  /// Whether `journalStream`, a `JOURNAL_STREAM` value of the form `device:inode` in decimal,
  /// names the file open on `fileDescriptor`. Malformed values and failing `fstat` give `false`.
  static func isJournalStream(_ journalStream: String, fileDescriptor: Int32) -> Bool {
    guard let (device, inode) = parseJournalStream(journalStream) else { return false }
    var status = stat()
    guard fstat(fileDescriptor, &status) == 0 else { return false }
    return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
  }

  /// The device and inode numbers in a `JOURNAL_STREAM` value, or `nil` unless it is exactly two
  /// unsigned decimal numbers separated by one colon.
  static func parseJournalStream(_ value: String) -> (device: UInt64, inode: UInt64)? {
    let parts = value.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2,
      parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { ("0"..."9").contains($0) } }),
      let device = UInt64(parts[0]), let inode = UInt64(parts[1])
    else { return nil }
    return (device, inode)
  }
}
