// Package kit is what every cascade mock service shares: the incident clock,
// the aswas/fixed mode switch, failpoints, the event stream, the admin API
// (/healthz, /metrics, /events, /failpoints), the DNS-resolving dialer and the
// aws-sdk-go-v2 client helpers, and the server bootstrap.
//
// Cores (the mechanisms) depend on kit for the clock and events only; the
// transports use the rest.
package kit
