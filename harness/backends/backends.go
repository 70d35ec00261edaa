// Package backends registers every harness backend (embedded, containers,
// compose), so a suite or program that imports it for its side effect runs
// on whichever one CASCADE_BACKEND names:
//
//	import _ "github.com/cascade-lab/cascade/harness/backends"
package backends

import (
	_ "github.com/cascade-lab/cascade/harness/containers"
	_ "github.com/cascade-lab/cascade/harness/embedded"
)
