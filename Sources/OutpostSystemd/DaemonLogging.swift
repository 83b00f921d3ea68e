import Logging

extension JournaldLogHandler {
  /// Bootstraps swift-log for a daemon: entries go to journald (with `identifier` as
  /// `SYSLOG_IDENTIFIER=`) when systemd connected standard error to the journal, else to standard
  /// error as plain text; both at `level`.
  ///
  /// - Returns: whether logs go to journald (a daemon then need not repeat a fatal error on
  ///   standard error).
  @discardableResult
  public static func bootstrapDaemon(identifier: String, level: Logger.Level) -> Bool {
    let toJournal = isJournalStream()
    LoggingSystem.bootstrap { label in
      if toJournal {
        var handler = JournaldLogHandler(label: identifier)
        handler.logLevel = level
        return handler
      }
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    return toJournal
  }
}
