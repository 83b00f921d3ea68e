import NIOSSL
import OutpostEnrollment

/// The box's side of TLS: TLS 1.3 only, its device certificate, and a server accepted only if
/// the enrollment's CA signed it for ``serverHostname``.
///
/// Callers create `NIOSSLClientHandler(context: context, serverHostname:
/// UplinkTLS.serverHostname)` whatever address they dialled: the station's certificate
/// carries that name, a box's certificate never does, so another box holding a certificate
/// from the same CA cannot pose as the station.
public enum UplinkTLS {
  /// The name every station certificate carries and every box verifies.
  public static let serverHostname = "station.outpost"

  /// A client context with the bundle's certificate and key, trusting only the bundle's CA.
  ///
  /// - Throws: ``EnrollmentError`` naming the bundle field BoringSSL could not read.
  public static func clientContext(bundle: EnrollmentBundle) throws -> NIOSSLContext {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.minimumTLSVersion = .tlsv13
    configuration.maximumTLSVersion = .tlsv13
    configuration.certificateVerification = .fullVerification
    // Closing waits this long for the station's close_notify (NIOSSL's default: 5 s). A link
    // the session dropped as half-open never answers, and the box would sit out the whole wait
    // before reconnecting; nothing of the records depends on the goodbye (acks do).
    configuration.shutdownTimeout = .milliseconds(500)
    configuration.trustRoots = .certificates([
      try read("ca_certificate", of: bundle) {
        try NIOSSLCertificate(bytes: Array(bundle.caCertificate.utf8), format: .pem)
      }
    ])
    configuration.certificateChain = [
      .certificate(
        try read("certificate", of: bundle) {
          try NIOSSLCertificate(bytes: Array(bundle.certificate.utf8), format: .pem)
        })
    ]
    configuration.privateKey = .privateKey(
      try read("private_key", of: bundle) {
        try NIOSSLPrivateKey(bytes: Array(bundle.privateKey.utf8), format: .pem)
      })
    do {
      return try NIOSSLContext(configuration: configuration)
    } catch {
      throw EnrollmentError(
        "enrollment bundle of \(bundle.device): TLS setup failed (does private_key belong to "
          + "certificate?): \(error)")
    }
  }

  private static func read<Value>(
    _ field: String, of bundle: EnrollmentBundle, _ body: () throws -> Value
  ) throws -> Value {
    do {
      return try body()
    } catch {
      throw EnrollmentError(
        "enrollment bundle of \(bundle.device): \(field) cannot be read as PEM: \(error)")
    }
  }
}
