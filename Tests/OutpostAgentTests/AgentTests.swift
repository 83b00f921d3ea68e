import Testing

@testable import OutpostAgent
