// Package harness is the running stack as experiments and suites see it: one
// Stack interface over whichever backend started it (embedded: every service
// in this process on loopback, with an embedded toxiproxy server; containers:
// one container per service), the stack's endpoints as a JSON-serialisable
// struct, its links (toxiproxy proxies named <from>__<to>), a service control
// method, the merged event stream and aws-sdk-go-v2 clients wired to the mock
// DNS.
//
// A backend registers itself by name (RegisterBackend) from its package's
// init; import it for its side effect:
//
//	import _ "github.com/cascade-lab/cascade/harness/embedded"
//
//	stack, err := harness.Start(ctx, harness.WithSpeed(30), harness.Variant("aswas"))
//	if stack != nil { defer stack.Close(ctx) }
//
// A stack started in another process (cascade up) is reached with Attach
// from its endpoints file: toxics and failpoints go through the toxiproxy and
// admin APIs, so faults work from anywhere.
//
// What the backends share lives here: StackBase (endpoints, links, clock,
// events, clients), which each backend's Stack embeds, and Topology, the one
// table of which links join which instances, which each backend lays out in
// its own way.
package harness
