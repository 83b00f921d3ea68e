import ArgumentParser
import Glibc
import OutpostControl
import OutpostEnrollment

/// `outpostctl enroll FILE`: installs the bundle the station made for this box.
struct EnrollCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "enroll",
    abstract: "Install an enrollment bundle (from `outpost-station device add`) on this box.",
    discussion: """
      Checks the bundle, writes it owner-only to STATE_DIR/enrollment.json (replacing an \
      earlier one), and tells a running outpostd to connect with it; an agent started later \
      reads it at start. Run as root (sudo), it gives the file to the owner of STATE_DIR, the \
      agent's user. Exit status: 0; 1 when the bundle is not usable or cannot be written.
      """)

  @Argument(help: "The bundle file.")
  var file: String

  @Option(help: ArgumentHelp("The agent's state directory.", valueName: "dir"))
  var stateDir = "/var/lib/outpost"

  @OptionGroup var socket: ControlSocketOption

  func run() throws {
    var output = LineWriter(.output)
    try reportingFailure { () throws(CommandFailure) in
      let bytes: [UInt8]
      let bundle: EnrollmentBundle
      do {
        bytes = try EnrollmentBundle.read(path: file)
        bundle = try EnrollmentBundle.decode(bytes, source: file)
      } catch {
        throw CommandFailure(message: "\(error)", status: 1)
      }
      let target = "\(stateDir)/enrollment.json"
      try install(bytes, at: target)
      output.line(
        "enrolled as \(bundle.device) (number \(bundle.deviceNumber)); stations \(bundle.stations.joined(separator: ", ")); installed \(target)"
      )
      var told = false
      try? ControlClient(path: socket.path).send(ControlRequest(command: "enrolled")) { reply in
        if reply.event == "line" { told = true }
        return true
      }
      output.line(
        told
          ? "the running agent is connecting with it"
          : "no running agent reached; outpostd uses it when it starts")
    }
    output.flush()
  }

  /// Writes `bytes` owner-only (created 0600), synced, then renamed over `path`.
  private func install(_ bytes: [UInt8], at path: String) throws(CommandFailure) {
    let fail = { (what: String) in
      CommandFailure(message: "\(what) \(path): \(String(cString: strerror(errno)))", status: 1)
    }
    if mkdir(stateDir, 0o750) != 0 && errno != EEXIST {
      throw fail("cannot create the directory of")
    }
    let temporary = path + ".new"
    unlink(temporary)
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw fail("cannot write") }
    // An administrator runs this with sudo; the agent runs as its own user, which owns the
    // state directory (systemd's StateDirectory=). A bundle left to root would be one the
    // agent cannot read.
    var directory = stat()
    if geteuid() == 0, stat(stateDir, &directory) == 0, directory.st_uid != 0,
      fchown(fd, directory.st_uid, directory.st_gid) != 0
    {
      let error = fail("cannot give to the state directory's owner")
      close(fd)
      unlink(temporary)
      throw error
    }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fsync(fd)
    close(fd)
    guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
      let error = fail("cannot write")
      unlink(temporary)
      throw error
    }
  }
}
