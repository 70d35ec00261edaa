// Package reaper removes a containers run's containers and networks once the
// process that owns the run is gone, as testcontainers' Ryuk does, from the
// mockaws image cascade already builds (`mockaws reaper`): nothing is pulled.
//
//	owner process (cascade up, a go test binary)         reaper container (mockaws reaper)
//	┌────────────────────────────────────┐   TCP          ┌──────────────────────────────────────┐
//	│ Start: create + start the reaper   │ 127.0.0.1:port │ Watch: accept owners; "label=<l>\n"   │
//	│ hold: dial, "label=cascade.run=<r>"├───────────────►│ must equal its own label: "ACK\n"     │
//	│ re-dial whenever the connection    │  (published)   │ no owner for Grace (or none within   │
//	│ drops, until Close                 │                │ ConnectTimeout): Sweep, then exit    │
//	└────────────────────────────────────┘                │ (AutoRemove removes the reaper)      │
//	                                                      └───────────────┬──────────────────────┘
//	                                                            /var/run/docker.sock (mounted)
//	                                                                      ▼
//	                                  every container and network labelled <l>: endpoints off the
//	                                  networks, containers removed (forced), then the networks
//
// The owner's lifeline is the open connection itself: when the owner dies,
// by SIGKILL or by `go test`'s timeout panic, its kernel closes the socket and
// the reaper sees the end of the stream at once. A process that reconnects
// within the grace period keeps its stack.
//
// Watch decides (pure connection bookkeeping on an injected clock), Sweep
// acts (Docker API calls); RemoveContainer and RemoveNetwork are the removal
// steps the containers backend's Close and `cascade clean` share with it.
package reaper
