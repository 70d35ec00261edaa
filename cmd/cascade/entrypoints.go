package main

import (
	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/internal/entrypoints"
)

// The images' entry points, hidden: the installed binary is the only file
// of cascade/mockaws and cascade/toxiproxy (engine.FromExecutable), which
// run `/cascade mockaws <service>` and `/cascade toxiproxy`.
func init() {
	mock, tox := entrypoints.MockAWS(), entrypoints.Toxiproxy()
	mock.Use, tox.Use = engine.MockAWSCommand, engine.ToxiproxyCommand
	mock.Hidden, tox.Hidden = true, true
	register(mock)
	register(tox)
	engine.FromExecutable()
}
