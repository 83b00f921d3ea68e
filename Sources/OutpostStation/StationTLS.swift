import NIOSSL
import OutpostCA

/// The station's side of TLS: TLS 1.3 only, and a client gets in only with a certificate that
/// chains to the station's own CA.
///
/// A verified client is identified by ``peerIdentity(_:)`` on the certificate the handshake
/// checked: its common name is the device name, its serial what revocation names.
public enum StationTLS {
  /// A server context for the listener.
  ///
  /// Presents the station certificate; trusts only the CA certificate (not the system's roots);
  /// requires a client certificate and verifies its chain, but no hostname, because a client has
  /// none to check. The CA gives devices the clientAuth usage only, so a station certificate
  /// cannot log in as a box and a box certificate cannot serve as a station.
  ///
  /// - Throws: `NIOSSLError` when the CA's PEM cannot be read by BoringSSL.
  public static func serverContext(ca: CertificateAuthority) throws -> NIOSSLContext {
    var configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
      certificateChain: [
        .certificate(
          try NIOSSLCertificate(bytes: Array(ca.stationCertificatePEM.utf8), format: .pem))
      ],
      privateKey: .privateKey(
        try NIOSSLPrivateKey(bytes: Array(ca.stationPrivateKeyPEM.utf8), format: .pem)),
      trustRoots: .certificates([
        try NIOSSLCertificate(bytes: Array(ca.caCertificatePEM.utf8), format: .pem)
      ])
    )
    configuration.minimumTLSVersion = .tlsv13
    configuration.maximumTLSVersion = .tlsv13
    configuration.certificateVerification = .noHostnameVerification
    return try NIOSSLContext(configuration: configuration)
  }

  /// The device a verified peer certificate names.
  ///
  /// - Parameter certificate: `NIOSSLHandler.peerCertificate` after the handshake completed.
  /// - Throws: ``CAError`` when the certificate has no common name or cannot be read.
  public static func peerIdentity(_ certificate: NIOSSLCertificate) throws -> PeerIdentity {
    try CertificateAuthority.identify(certificateDER: try certificate.toDERBytes())
  }
}
