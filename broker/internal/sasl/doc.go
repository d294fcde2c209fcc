// Package sasl is the server side of the SASL mechanisms kspring's broker
// serves: PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802, with
// github.com/xdg-go/scram). Start a [Session] per connection with [New];
// feed it each SaslAuthenticate token with [Session.Step] until it is done.
// SCRAM's final step also accepts librdkafka's pre-2.6.1 nonce form
// (clientNonce+serverNonce), as Kafka 3.8.1-3.9 do; [AcceptedLegacyNonce]
// tells the caller, to log it.
//
// A Session belongs to one connection and is not safe for concurrent use;
// the [Users] it reads must be.
package sasl
