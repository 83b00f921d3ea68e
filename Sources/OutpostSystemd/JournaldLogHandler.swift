internal import CSystemd
import Glibc
import Logging

/// A swift-log backend that writes each entry to the systemd journal as structured fields, over
/// journald's native protocol (`sd_journal_sendv(3)`).
///
/// Every entry carries:
/// - `MESSAGE=`: the message, unchanged (newlines and any other bytes are kept);
/// - `PRIORITY=`: the level as a syslog severity, see ``SyslogPriority/init(_:)``;
/// - `SYSLOG_IDENTIFIER=`: the handler's ``label`` (omitted when empty), so `journalctl -t label`
///   selects the entries;
/// - `CODE_FILE=`, `CODE_LINE=`, `CODE_FUNC=`: the call site;
/// - one field per metadata key, named by ``fieldName(forMetadataKey:)`` and holding the value's
///   description. The key ``messageIDMetadataKey`` therefore sets `MESSAGE_ID=`, which
///   `journalctl MESSAGE_ID=…` matches; an error passed to the logger becomes `ERROR_MESSAGE=` and
///   `ERROR_TYPE=`.
///
/// Metadata is merged as swift-log's own handlers do: the handler's ``metadata``, then the
/// ``metadataProvider``'s, then the log call's, later ones winning on equal keys.
///
/// If journald cannot take the entry (its socket is missing, which libsystemd alone would ignore,
/// or the socket refuses it), the handler writes one plain line to standard error instead, so
/// nothing is silently lost. Choose this handler with ``isJournalStream()``.
public struct JournaldLogHandler: LogHandler {
  /// The metadata key whose value becomes the entry's `MESSAGE_ID=` field: a 128-bit id written
  /// as 32 lowercase hex digits (make one with `journalctl --new-id128`) that marks every entry
  /// of one kind, such as an alarm, for `journalctl MESSAGE_ID=` and the message catalog.
  public static let messageIDMetadataKey = "message_id"

  /// The `SYSLOG_IDENTIFIER=` of every entry; usually the program name, such as `outpostd`.
  public let label: String

  /// The least severe level this handler writes; `Logger` drops less severe entries before they
  /// reach the handler.
  public var logLevel: Logger.Level = .info

  /// Metadata added to every entry this handler (and only this copy of it) writes.
  public var metadata: Logger.Metadata = [:]

  /// Supplies contextual metadata, such as task-local values, at each log call.
  public var metadataProvider: Logger.MetadataProvider?

  /// Creates a handler writing entries identified by `label`.
  ///
  /// - Parameters:
  ///   - label: the `SYSLOG_IDENTIFIER=` of every entry; empty to let journald use the process
  ///     name.
  ///   - metadataProvider: contextual metadata for every entry; defaults to the provider given to
  ///     `LoggingSystem.bootstrap`.
  public init(
    label: String,
    metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
  ) {
    self.label = label
    self.metadataProvider = metadataProvider
  }

  /// Reads or changes one key of ``metadata``.
  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  /// Writes `event` to the journal, or to standard error if journald does not take it.
  public func log(event: LogEvent) {
    let fields = entry(for: event)
    do {
      try Self.send(fields)
    } catch {
      Self.writeToStandardError(fallbackLine(for: event, failure: error))
    }
  }

  /// The fields of the journal entry for `event`, in the order documented on the type, with
  /// metadata fields sorted by key.
  func entry(for event: LogEvent) -> [JournalField] {
    var fields = [
      JournalField("MESSAGE", event.message.description),
      JournalField("PRIORITY", String(SyslogPriority(event.level).rawValue)),
    ]
    if !label.isEmpty {
      fields.append(JournalField("SYSLOG_IDENTIFIER", label))
    }
    fields.append(JournalField("CODE_FILE", event.file))
    fields.append(JournalField("CODE_LINE", String(event.line)))
    fields.append(JournalField("CODE_FUNC", event.function))
    for (key, value) in mergedMetadata(for: event).sorted(by: { $0.key < $1.key }) {
      fields.append(JournalField(Self.fieldName(forMetadataKey: key), value.description))
    }
    return fields
  }

  /// The handler's metadata, overridden by the provider's, overridden by the event's, plus the
  /// event's error under the keys swift-log's stream handler uses.
  private func mergedMetadata(for event: LogEvent) -> Logger.Metadata {
    var merged = metadata
    if let provided = metadataProvider?.get(), !provided.isEmpty {
      merged.merge(provided) { _, provided in provided }
    }
    if let explicit = event.metadata, !explicit.isEmpty {
      merged.merge(explicit) { _, explicit in explicit }
    }
    if let error = event.error {
      merged["error.message"] = "\(error)"
      merged["error.type"] = "\(String(reflecting: type(of: error)))"
    }
    return merged
  }

  /// The plain line written when journald refuses `event`: label, level, message, and why the
  /// journal did not take it, with line breaks in the message kept as `\n` escapes.
  func fallbackLine(for event: LogEvent, failure: SystemdError) -> String {
    let message = event.message.description.replacing("\n", with: "\\n")
    let prefix = label.isEmpty ? "" : "\(label): "
    return "\(prefix)\(event.level): \(message) [not in journal: \(failure)]\n"
  }

  /// Journald's native-protocol socket, the one `sd_journal_sendv` writes to.
  static let journalSocketPath = "/run/systemd/journal/socket"

  /// Sends one entry to journald.
  ///
  /// - Throws: ``SystemdError`` with operation `.journalSend` if journald is not reachable or
  ///   refuses the entry; errno `ENOENT` if its socket does not exist, which libsystemd itself
  ///   would report as success and so lose the entry.
  static func send(_ fields: [JournalField]) throws(SystemdError) {
    guard access(journalSocketPath, F_OK) == 0 else {
      throw SystemdError(.journalSend, errno: ENOENT)
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + 1 + $1.value.count })
    var spans: [(start: Int, count: Int)] = []
    spans.reserveCapacity(fields.count)
    for field in fields {
      let start = bytes.count
      bytes.append(contentsOf: field.name.utf8)
      bytes.append(UInt8(ascii: "="))
      bytes.append(contentsOf: field.value)
      spans.append((start, bytes.count - start))
    }
    let result = bytes.withUnsafeMutableBytes { buffer -> Int32 in
      guard let base = buffer.baseAddress else { return -EINVAL }
      var vectors = spans.map { iovec(iov_base: base + $0.start, iov_len: $0.count) }
      return sd_journal_sendv(&vectors, Int32(vectors.count))
    }
    guard result >= 0 else { throw SystemdError(.journalSend, returned: result) }
  }

  private static func writeToStandardError(_ line: String) {
    var bytes = Array(line.utf8)[...]
    while !bytes.isEmpty {
      let written = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
      if written < 0 && errno == EINTR { continue }
      guard written > 0 else { return }
      bytes = bytes.dropFirst(written)
    }
  }
}
