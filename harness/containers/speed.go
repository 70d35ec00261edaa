package containers

import "github.com/cascade-lab/cascade/mocks/kit"

// ReplaySpeed is the incident speed this backend suggests for the incident
// replay (`cascade replay --backend containers` without --speed, and
// suites/containers): incident minutes per wall second.
//
// What the embedded backend does in microseconds the engine does in
// seconds, and every wall second is that many incident minutes: a
// container restart (docker stop, start, /healthz) took 5.6-5.8 s of wall
// time with the three DWFM hosts restarting together on the loaded 2-core
// machines (load average 15-19), 56-58 incident minutes at 10, and the
// hosts' re-leasing only starts once they are back. At 6 that is ~35
// minutes, inside the runbook's two hours with room for a slower engine;
// the replay then takes about 155 s of wall time.
const ReplaySpeed = kit.ReplaySpeedContainers
